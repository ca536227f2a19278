"""Reference data for people and places: German and Austrian names, streets, cities, phones.

Tables only, precomputed at import; the factories pick from them with the world's RNG.
"""

from dataclasses import dataclass

FEMALE_FIRST_NAMES = (
    "Anna", "Marie", "Sophie", "Laura", "Julia", "Lea", "Hannah", "Lena", "Katharina", "Sarah",
    "Johanna", "Clara", "Emilia", "Charlotte", "Mia", "Paula", "Greta", "Frieda", "Ida", "Jana",
    "Sabine", "Petra", "Monika", "Claudia", "Andrea", "Stefanie", "Nicole", "Birgit", "Ursula",
    "Renate", "Ingrid", "Karin", "Susanne", "Christina", "Franziska", "Theresa", "Verena",
    "Annika", "Miriam", "Özlem", "Elif", "Aleksandra", "Zofia",
)  # fmt: skip

MALE_FIRST_NAMES = (
    "Lukas", "Jonas", "Leon", "Finn", "Paul", "Felix", "Maximilian", "Elias", "Ben", "Noah",
    "Moritz", "Jakob", "Anton", "Emil", "Theo", "Karl", "Friedrich", "Matthias", "Stefan",
    "Thomas", "Michael", "Andreas", "Markus", "Christian", "Sebastian", "Tobias", "Florian",
    "Daniel", "Jürgen", "Klaus", "Wolfgang", "Dieter", "Uwe", "Bernd", "Jan", "Timo", "Niklas",
    "Mehmet", "Can", "Piotr", "Marco", "Luca",
)  # fmt: skip

LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther",
    "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Yilmaz", "Kaya",
    "Nowak", "Kowalski", "Rossi", "Gruber", "Pichler", "Steiner",
)  # fmt: skip

STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Dorfstraße", "Bergstraße",
    "Lindenstraße", "Kirchstraße", "Goethestraße", "Schillerstraße", "Waldstraße", "Ringstraße",
    "Friedrichstraße", "Mühlenweg", "Am Markt", "Rosenweg", "Birkenweg", "Wiesenstraße",
    "Kastanienallee", "Lindenallee", "Marktplatz", "Parkstraße", "Feldstraße", "Poststraße",
    "Beethovenstraße", "Mozartstraße", "Eichendorffweg", "Königsallee", "Sonnenallee",
    "Uhlandstraße", "Hansaring", "Kaiserstraße", "Luisenstraße", "Brunnenstraße",
    "Am Mühlbach", "Hafenstraße", "Lessingstraße", "Ahornweg", "Tulpenweg", "Sandweg",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class City:
    name: str
    region: str
    """Bundesland / state, the schemas' `region`."""
    country: str
    """ISO 3166-1 alpha-2."""
    postal_codes: tuple[str, ...]
    phone_prefix: str
    """International prefix including the area code, e.g. `+49 30`."""
    lat: float
    lng: float
    district: str
    """A neighbourhood, used to name a branch there."""


CITIES = (
    City("Berlin", "Berlin", "DE", ("10115", "10178", "10245", "10437", "10997", "12043",
         "13353"), "+49 30", 52.5200, 13.4050, "Mitte"),
    City("Hamburg", "Hamburg", "DE", ("20095", "20357", "22765", "22301"), "+49 40", 53.5511,
         9.9937, "Altona"),
    City("München", "Bayern", "DE", ("80331", "80469", "80799", "81667"), "+49 89", 48.1351,
         11.5820, "Schwabing"),
    City("Köln", "Nordrhein-Westfalen", "DE", ("50667", "50733", "50823"), "+49 221", 50.9375,
         6.9603, "Ehrenfeld"),
    City("Frankfurt am Main", "Hessen", "DE", ("60311", "60316", "60594"), "+49 69", 50.1109,
         8.6821, "Sachsenhausen"),
    City("Stuttgart", "Baden-Württemberg", "DE", ("70173", "70176", "70190"), "+49 711",
         48.7758, 9.1829, "West"),
    City("Düsseldorf", "Nordrhein-Westfalen", "DE", ("40210", "40477"), "+49 211", 51.2277,
         6.7735, "Pempelfort"),
    City("Leipzig", "Sachsen", "DE", ("04103", "04275"), "+49 341", 51.3397, 12.3731,
         "Südvorstadt"),
    City("Dresden", "Sachsen", "DE", ("01067", "01099"), "+49 351", 51.0504, 13.7373,
         "Neustadt"),
    City("Hannover", "Niedersachsen", "DE", ("30159", "30161"), "+49 511", 52.3759, 9.7320,
         "List"),
    City("Nürnberg", "Bayern", "DE", ("90402", "90429"), "+49 911", 49.4521, 11.0767,
         "Gostenhof"),
    City("Bremen", "Bremen", "DE", ("28195", "28203"), "+49 421", 53.0793, 8.8017,
         "Viertel"),
    City("Münster", "Nordrhein-Westfalen", "DE", ("48143", "48145"), "+49 251", 51.9607,
         7.6261, "Kreuzviertel"),
    City("Freiburg im Breisgau", "Baden-Württemberg", "DE", ("79098", "79102"), "+49 761",
         47.9990, 7.8421, "Wiehre"),
    City("Heidelberg", "Baden-Württemberg", "DE", ("69117", "69120"), "+49 6221", 49.3988,
         8.6724, "Altstadt"),
    City("Wien", "Wien", "AT", ("1010", "1070", "1160"), "+43 1", 48.2082, 16.3738,
         "Neubau"),
    City("Graz", "Steiermark", "AT", ("8010", "8020"), "+43 316", 47.0707, 15.4395,
         "Lend"),
    City("Salzburg", "Salzburg", "AT", ("5020",), "+43 662", 47.8095, 13.0550, "Altstadt"),
)  # fmt: skip

GERMAN_CITIES = tuple(city for city in CITIES if city.country == "DE")

# German mobile network prefixes (without the leading 0).
MOBILE_PREFIXES = ("151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173",
                   "174", "175", "176", "177", "178", "179")  # fmt: skip

EMAIL_DOMAINS = ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de",
                 "mailbox.org", "icloud.com", "gmx.at", "freenet.de")  # fmt: skip

COMPANY_SUFFIXES = ("GmbH", "GmbH & Co. KG", "KG", "e.K.", "UG (haftungsbeschränkt)", "OHG")

COMPANY_TRADES = ("Gastro", "Catering", "Bürobedarf", "Hausverwaltung", "Kita", "Café",
                  "Physiotherapie", "Architekten", "Blumen", "Bäckerei")  # fmt: skip

_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ç": "c", "ğ": "g",
     "ş": "s", " ": "", "'": ""}
)  # fmt: skip


def email_local_part(firstname: str, lastname: str) -> str:
    """Returns `anna.mueller` for Anna Müller: lower case, umlauts spelled out."""
    return f"{firstname}.{lastname}".lower().translate(_TRANSLITERATION)
