"""Reference data for the shop's assortment: product groups and product templates.

A German neighbourhood store selling groceries, drinks, drugstore and household goods, books,
stationery and flowers, with the VAT class German law gives each (7 % for food, books and cut
flowers; 19 % for drinks other than milk, alcohol, drugstore and household goods).
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProductGroup:
    number: str
    """The group's custom id, printed on receipts and sent as `product_group_number`."""
    name: str
    vat_class: str
    """`normal` (19 %) or `reduced` (7 %)."""
    supplier: str
    tile_color: str
    blurb: str
    keywords: tuple[str, ...]
    discountable: bool = True
    """Books are not: fixed book prices (Buchpreisbindung) forbid discounts."""
    refund_policy: str | None = None


@dataclass(frozen=True, slots=True)
class ProductTemplate:
    name: str
    group: str
    unit: str
    """`pcs`, or `kg` for loose goods sold by weight."""
    price_cents: int
    """Typical shelf price (gross); the factory varies it a little per product."""
    content: str
    brand: str
    allergens: str = ""
    origin: str = ""


_RETURNS = "Umtausch innerhalb von 14 Tagen nur mit Kassenbon und in Originalverpackung."

PRODUCT_GROUPS: dict[str, ProductGroup] = {
    group.number: group
    for group in (
        ProductGroup("001", "Obst & Gemüse", "reduced", "Großmarkt Nord GmbH", "#7CB342",
                     "Frisch vom Großmarkt, täglich neu sortiert.", ("frisch", "regional")),
        ProductGroup("002", "Molkereiprodukte", "reduced", "Molkerei Alpenhof eG", "#FFF59D",
                     "Aus Milch von Höfen im Umkreis von 100 km.", ("kühlware", "milch")),
        ProductGroup("003", "Brot & Backwaren", "reduced", "Bäckerei Kornblume", "#A1887F",
                     "Jeden Morgen frisch aus der Backstube.", ("backwaren", "frisch")),
        ProductGroup("004", "Kaffee & Tee", "reduced", "Rösterei Hanse KG", "#6D4C41",
                     "Schonend geröstet, direkt gehandelt.", ("kaffee", "tee")),
        ProductGroup("005", "Getränke", "normal", "Getränke Quellental GmbH", "#4FC3F7",
                     "Aus der Region, im Mehrweg-Gebinde.", ("getränke", "mehrweg")),
        ProductGroup("006", "Wein & Spirituosen", "normal", "Weinhandel Lindner", "#8E24AA",
                     "Von Winzern und Brennereien, die wir persönlich kennen.",
                     ("wein", "ab 18"), refund_policy=_RETURNS),
        ProductGroup("007", "Drogerie", "normal", "Naturkosmetik Grünblatt GmbH", "#F48FB1",
                     "Zertifizierte Naturkosmetik, ohne Mikroplastik.", ("pflege", "vegan"),
                     refund_policy=_RETURNS),
        ProductGroup("008", "Haushalt", "normal", "Haushaltsfreund Handels GmbH", "#90A4AE",
                     "Praktisches für jeden Tag.", ("haushalt",), refund_policy=_RETURNS),
        ProductGroup("009", "Bücher & Zeitschriften", "reduced", "Barsortiment Seeblick",
                     "#5C6BC0", "Gebundener Ladenpreis nach BuchPrG.", ("buch", "lesen"),
                     discountable=False, refund_policy=_RETURNS),
        ProductGroup("010", "Schreibwaren", "normal", "Papeterie Feder & Co.", "#FFB74D",
                     "Papier aus nachhaltiger Forstwirtschaft.", ("papier", "geschenk"),
                     refund_policy=_RETURNS),
        ProductGroup("011", "Blumen & Pflanzen", "reduced", "Gärtnerei Blütenreich", "#E57373",
                     "Schnittblumen und Topfpflanzen aus der Gärtnerei nebenan.",
                     ("blumen", "geschenk")),
        ProductGroup("012", "Süßwaren & Snacks", "reduced", "Schokomanufaktur Kakaobohne",
                     "#BA68C8", "Kleine Freuden für zwischendurch.", ("süßes", "snack")),
    )
}  # fmt: skip

# name | group | unit | shelf price in cents | content | brand | allergens | origin
_TEMPLATE_TABLE = """
Äpfel Elstar | 001 | kg | 299 | lose | Obsthof Kirchner | - | Deutschland
Bio-Bananen | 001 | kg | 199 | lose | Bioland | - | Ecuador
Rispentomaten | 001 | kg | 349 | lose | Gemüsehof Lenz | - | Niederlande
Paprika rot | 001 | kg | 499 | lose | Gemüsehof Lenz | - | Spanien
Kartoffeln festkochend 2,5 kg | 001 | pcs | 329 | 2,5 kg | Hof Sonnenberg | - | Deutschland
Möhren 1 kg | 001 | pcs | 129 | 1 kg | Hof Sonnenberg | - | Deutschland
Zitronen im Netz 500 g | 001 | pcs | 149 | 500 g | Bioland | - | Italien
Salatgurke | 001 | pcs | 79 | 1 Stück | Gemüsehof Lenz | - | Deutschland
Champignons braun 250 g | 001 | pcs | 199 | 250 g | Pilzhof Auental | - | Deutschland
Bio-Vollmilch 3,8 % 1 l | 002 | pcs | 149 | 1 l | Alpenhof | Milch | Deutschland
Fettarme Milch 1,5 % 1 l | 002 | pcs | 119 | 1 l | Alpenhof | Milch | Deutschland
Süßrahmbutter 250 g | 002 | pcs | 249 | 250 g | Alpenhof | Milch | Deutschland
Gouda jung am Stück 400 g | 002 | pcs | 399 | 400 g | Käserei Wiesengrund | Milch | Niederlande
Allgäuer Emmentaler 200 g | 002 | pcs | 279 | 200 g | Käserei Wiesengrund | Milch | Deutschland
Naturjoghurt 3,5 % 500 g | 002 | pcs | 99 | 500 g | Alpenhof | Milch | Deutschland
Skyr Natur 450 g | 002 | pcs | 189 | 450 g | Alpenhof | Milch | Deutschland
Freilandeier Größe M, 10 Stück | 002 | pcs | 329 | 10 Stück | Geflügelhof Brandt | Ei | Deutschland
Roggenmischbrot 750 g | 003 | pcs | 320 | 750 g | Bäckerei Kornblume | Roggen, Weizen | Deutschland
Dinkelvollkornbrot 500 g | 003 | pcs | 390 | 500 g | Bäckerei Kornblume | Dinkel | Deutschland
Laugenbrezel | 003 | pcs | 85 | 1 Stück | Bäckerei Kornblume | Weizen | Deutschland
Butter-Croissant | 003 | pcs | 110 | 1 Stück | Bäckerei Kornblume | Weizen, Milch, Ei | Deutschland
Vollkorn-Toast 500 g | 003 | pcs | 179 | 500 g | Bäckerei Kornblume | Weizen | Deutschland
Espresso ganze Bohne 1 kg | 004 | pcs | 1690 | 1 kg | Rösterei Hanse | - | Brasilien
Filterkaffee gemahlen 500 g | 004 | pcs | 699 | 500 g | Rösterei Hanse | - | Kolumbien
Grüner Tee Sencha 100 g | 004 | pcs | 449 | 100 g | Teekontor Nord | - | Japan
Pfefferminztee, 20 Beutel | 004 | pcs | 229 | 20 x 1,5 g | Teekontor Nord | - | Deutschland
Mineralwasser Classic 0,75 l | 005 | pcs | 69 | 0,75 l | Quellental | - | Deutschland
Apfelschorle 1 l | 005 | pcs | 129 | 1 l | Quellental | - | Deutschland
Orangensaft Direktsaft 1 l | 005 | pcs | 249 | 1 l | Quellental | - | Spanien
Bio-Limonade Holunder 0,33 l | 005 | pcs | 149 | 0,33 l | Quellental | - | Deutschland
Riesling trocken 0,75 l | 006 | pcs | 799 | 0,75 l | Weingut Lindner | Sulfite | Deutschland
Spätburgunder, Baden 0,75 l | 006 | pcs | 949 | 0,75 l | Weingut Lindner | Sulfite | Deutschland
Helles Lagerbier 0,5 l | 006 | pcs | 109 | 0,5 l | Brauerei Falkenstein | Gerste | Deutschland
Hefeweizen 0,5 l | 006 | pcs | 119 | 0,5 l | Brauerei Falkenstein | Weizen, Gerste | Deutschland
Williams-Christ-Birnenbrand 0,5 l | 006 | pcs | 2490 | 0,5 l | Brennerei Auhof | - | Österreich
Zahnpasta Kräuter 75 ml | 007 | pcs | 145 | 75 ml | Grünblatt | - | Deutschland
Duschgel Sensitiv 250 ml | 007 | pcs | 295 | 250 ml | Grünblatt | - | Deutschland
Shampoo Repair 300 ml | 007 | pcs | 395 | 300 ml | Grünblatt | - | Deutschland
Handcreme Ringelblume 75 ml | 007 | pcs | 445 | 75 ml | Grünblatt | - | Deutschland
Sonnencreme LSF 30, 200 ml | 007 | pcs | 995 | 200 ml | Grünblatt | - | Deutschland
Spülmittel Zitrone 500 ml | 008 | pcs | 129 | 500 ml | Haushaltsfreund | - | Deutschland
Küchenrolle, 4 x 64 Blatt | 008 | pcs | 279 | 4 Rollen | Haushaltsfreund | - | Deutschland
Allzweckreiniger 1 l | 008 | pcs | 219 | 1 l | Haushaltsfreund | - | Deutschland
Bienenwachstücher, 3er-Set | 008 | pcs | 1490 | 3 Stück | Haushaltsfreund | - | Deutschland
Stumpenkerzen weiß, 4 Stück | 008 | pcs | 649 | 4 Stück | Haushaltsfreund | - | Polen
Reiseführer Ostseeküste | 009 | pcs | 1695 | Taschenbuch | Verlag Seeblick | - | Deutschland
Kochbuch Regional & Saisonal | 009 | pcs | 2800 | Hardcover | Verlag Seeblick | - | Deutschland
Roman „Das Haus am See“ | 009 | pcs | 2200 | Hardcover | Verlag Seeblick | - | Deutschland
Kinderbuch „Fuchs und Igel“ | 009 | pcs | 1400 | Pappbilderbuch | Verlag Seeblick | - | Deutschland
Rätselheft Sudoku | 009 | pcs | 450 | Heft | Verlag Seeblick | - | Deutschland
Notizbuch A5 gepunktet | 010 | pcs | 995 | A5, 192 Seiten | Papeterie Feder | - | Deutschland
Kugelschreiber blau | 010 | pcs | 149 | 1 Stück | Papeterie Feder | - | Deutschland
Geschenkpapier Rolle 2 m | 010 | pcs | 349 | 2 m x 70 cm | Papeterie Feder | - | Deutschland
Grußkarte Geburtstag | 010 | pcs | 295 | mit Umschlag | Papeterie Feder | - | Deutschland
Tulpen, Bund mit 10 Stielen | 011 | pcs | 499 | 10 Stiele | Gärtnerei Blütenreich | - | Niederlande
Rosen rot, Bund mit 7 Stielen | 011 | pcs | 999 | 7 Stiele | Gärtnerei Blütenreich | - | Kenia
Orchidee im Topf | 011 | pcs | 1499 | Topf Ø 12 cm | Gärtnerei Blütenreich | - | Niederlande
Basilikum im Topf | 011 | pcs | 249 | Topf Ø 12 cm | Gärtnerei Blütenreich | - | Deutschland
Vollmilchschokolade 100 g | 012 | pcs | 129 | 100 g | Kakaobohne | Milch, Soja | Deutschland
Zartbitterschokolade 70 % 100 g | 012 | pcs | 179 | 100 g | Kakaobohne | Soja | Deutschland
Fruchtgummi-Bären 200 g | 012 | pcs | 119 | 200 g | Kakaobohne | - | Deutschland
Kartoffelchips Meersalz 150 g | 012 | pcs | 199 | 150 g | Knusperwerk | - | Deutschland
Studentenfutter 200 g | 012 | pcs | 249 | 200 g | Knusperwerk | Schalenfrüchte | Deutschland
"""


def _parse_templates(table: str) -> tuple[ProductTemplate, ...]:
    templates = []
    for line in table.strip().splitlines():
        name, group, unit, price, content, brand, allergens, origin = (
            cell.strip() for cell in line.split("|")
        )
        templates.append(
            ProductTemplate(
                name=name,
                group=group,
                unit=unit,
                price_cents=int(price),
                content=content,
                brand=brand,
                allergens="" if allergens == "-" else allergens,
                origin=origin,
            )
        )
    return tuple(templates)


PRODUCT_TEMPLATES: tuple[ProductTemplate, ...] = _parse_templates(_TEMPLATE_TABLE)

# Price endings a German shop uses, in cents, and how often (x.99 most of all); new prices
# snap to one of them.
PRICE_ENDINGS = (99, 49, 95, 79, 29, 89, 59, 69, 90, 50)
PRICE_ENDING_WEIGHTS = (40, 14, 10, 6, 6, 6, 5, 5, 4, 4)
