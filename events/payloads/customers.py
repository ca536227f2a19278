"""Customers: the world's records and the `customers.{create,update,delete}.v0` payloads."""

from typing import Any

from events.payloads.clock import DAY_MS, iso
from events.payloads.people import (
    CITIES,
    COMPANY_SUFFIXES,
    COMPANY_TRADES,
    EMAIL_DOMAINS,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    MOBILE_PREFIXES,
    STREETS,
    City,
    email_local_part,
)
from events.payloads.records import CustomerRecord
from events.payloads.world import CUSTOMER_DISCOUNT_RATES, World

# When a sale wants a customer and fewer than this many exist, the world gets
# BOOTSTRAP_CUSTOMERS regulars first (created silently: they predate the event stream).
MIN_CUSTOMERS = 2
BOOTSTRAP_CUSTOMERS = 6

# Customers invented for an update or delete of an unknown id became customers at most this
# many days before the event.
MAX_AGE_DAYS = 900

_COMMENTS = (
    "Bevorzugt Kontakt per E-Mail.",
    "Allergie gegen Nüsse, bei Bestellungen bitte beachten.",
    "Lieferungen bitte im Hinterhof abgeben.",
    "Bestellt jeden Freitag Blumen für die Praxis.",
    "Zahlt Rechnungen per Überweisung innerhalb von 14 Tagen.",
)


def _house_number(world: World) -> str:
    number = str(world.rng.randint(1, 140))
    return number + "a" if world.rng.random() < 0.08 else number


def _address(world: World, city: City, kind: str) -> dict[str, Any]:
    rng = world.rng
    return {
        "lines": ["Hinterhaus, 2. OG"] if rng.random() < 0.1 else None,
        "street": rng.choice(STREETS),
        "street_number": _house_number(world),
        "locality": city.name,
        "region": city.region,
        "postal_code": rng.choice(city.postal_codes),
        "country": city.country,
        "type": kind,
    }


def _email(world: World, firstname: str, lastname: str) -> str:
    rng = world.rng
    local = email_local_part(firstname, lastname)
    if rng.random() < 0.35:
        local += str(rng.randint(1, 99))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def _landline(world: World, city: City) -> str:
    return f"{city.phone_prefix} {world.rng.randrange(100_000, 99_999_999)}"


def _mobile(world: World, city: City) -> str:
    country_code = "+43 6" if city.country == "AT" else "+49 "
    return f"{country_code}{world.rng.choice(MOBILE_PREFIXES)} {world.rng.randrange(10**7, 10**8)}"


def new_customer(
    world: World, *, customer_id: str | None = None, created_ms: int | None = None
) -> CustomerRecord:
    """Returns a new customer record (not yet in the world)."""
    rng = world.rng
    roll = rng.random()
    gender = "female" if roll < 0.48 else "male" if roll < 0.96 else "unspecified"
    first_names = FEMALE_FIRST_NAMES if gender == "female" else MALE_FIRST_NAMES
    if gender == "unspecified":
        first_names = rng.choice((FEMALE_FIRST_NAMES, MALE_FIRST_NAMES))
    firstname = rng.choice(first_names)
    lastname = rng.choice(LAST_NAMES)
    home_branch = rng.choice(world.branches)
    city = home_branch.city if rng.random() < 0.8 else rng.choice(CITIES)
    is_b2b = rng.random() < 0.12
    addresses = [_address(world, city, "billing" if is_b2b else "home")]
    phonenumbers = {"mobile": _mobile(world, city)}
    company = vat_id = None
    if is_b2b:
        company = f"{lastname} {rng.choice(COMPANY_TRADES)} {rng.choice(COMPANY_SUFFIXES)}"
        vat_id = (
            f"ATU{rng.randrange(10**8):08d}"
            if city.country == "AT"
            else f"DE{rng.randrange(10**8, 10**9)}"
        )
        addresses.append(_address(world, city, "delivery"))
        phonenumbers["work"] = _landline(world, city)
    elif rng.random() < 0.4:
        phonenumbers["home"] = _landline(world, city)
    birth_date = None
    if not is_b2b and rng.random() < 0.7:
        birth_date = (
            f"{rng.randint(1945, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            "T00:00:00.000Z"
        )
    world.customer_insert_id += 1
    created = created_ms if created_ms is not None else world.clock.now_ms
    return CustomerRecord(
        id=customer_id or world.uuid(),
        created_ms=created,
        updated_ms=created,
        insert_id=world.customer_insert_id,
        number=f"K-{10_000 + world.customer_insert_id}",
        firstname=firstname,
        lastname=lastname,
        gender=gender,
        email=_email(world, firstname, lastname),
        phonenumbers=phonenumbers,
        addresses=addresses,
        birth_date=birth_date,
        company=company,
        vat_id=vat_id,
        discount_rate=rng.choice(CUSTOMER_DISCOUNT_RATES) if rng.random() < 0.25 else None,
        newsletter=rng.random() < 0.4,
        branch_id=home_branch.id,
        source=rng.choices(("POS", "DASHBOARD", "WEB_RESERVATION"), (6, 3, 1))[0],
        comment=rng.choice(_COMMENTS) if rng.random() < 0.15 else None,
        external_reference=f"CRM-{rng.randrange(10**6):06d}",
        customer_since_ms=created,
    )


def ensure_customers(world: World) -> None:
    """Gives the world a few regulars when it has (almost) no customers."""
    if len(world.customers) >= MIN_CUSTOMERS:
        return
    now = world.clock.now_ms
    for _ in range(BOOTSTRAP_CUSTOMERS):
        created = now - world.rng.randint(1, MAX_AGE_DAYS) * DAY_MS
        world.customers.add(new_customer(world, created_ms=created))


def discount_name(rate: float) -> str:
    return f"Stammkundenrabatt {round(rate * 100)} %"


def customer_payload(
    world: World, customer: CustomerRecord, *, deleted: bool = False
) -> dict[str, Any]:
    """Returns the customer resource as Tillhub sends it."""
    discounts = None
    if customer.discount_rate is not None:
        discounts = [
            {
                "id": world.discount_ids[customer.discount_rate],
                "amount": customer.discount_rate,
                "type": "percentage",
                "account": None,
                "name": discount_name(customer.discount_rate),
                "group": "customer",
            }
        ]
    return {
        "id": customer.id,
        "created_at": iso(customer.created_ms),
        "updated_at": iso(customer.updated_ms),
        "active": not deleted,
        "deleted": deleted,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
        "middlename": None,
        "displayname": customer.display,
        "phonenumbers": dict(customer.phonenumbers),
        "email": customer.email,
        "customer_number": customer.number,
        "company": {"name": customer.company} if customer.company else None,
        "description": "Geschäftskunde" if customer.company else None,
        "is_b2b": customer.company is not None,
        "date_of_birth": customer.birth_date,
        "images": None,
        "contacts": {
            "email": {"enabled": True},
            "newsletter": {"enabled": customer.newsletter},
            "phone": {"enabled": "home" in customer.phonenumbers},
            "post": {"enabled": customer.company is not None},
        },
        "metadata": {},
        "addresses": [dict(address) for address in customer.addresses],
        "custom": None,
        "comment": customer.comment,
        "discounts": discounts,
        "client_id": None,
        "external_reference": customer.external_reference,
        "customer_since": iso(customer.customer_since_ms),
        "locations": [customer.branch_id],
        "branch_groups": None,
        "gender": customer.gender,
        "vat_id": customer.vat_id,
        "source": customer.source,
        "branch_id": customer.branch_id,
        "price_book": None,
        "reminder_notification_enabled": True,
        "insert_id": customer.insert_id,
        "price_list": None,
        "delegated_to": None,
    }


def _invented_customer(world: World, customer_id: str | None) -> CustomerRecord:
    """A customer the event stream never announced (an update or delete of an unknown id)."""
    created = world.clock.now_ms - world.rng.randint(1, MAX_AGE_DAYS) * DAY_MS
    return new_customer(world, customer_id=customer_id, created_ms=created)


def _existing_customer(world: World, entity_instance_id: str | None) -> CustomerRecord | None:
    if entity_instance_id is not None:
        return world.customers.get(entity_instance_id)
    if len(world.customers) == 0:
        return None
    return world.customers.choice(world.rng)


def customers_create(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    world.clock.tick()
    customer = new_customer(world, customer_id=entity_instance_id)
    world.customers.add(customer)
    return customer_payload(world, customer)


def customers_update(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Changes an existing customer (the given one, else a random one) and returns it."""
    now = world.clock.tick()
    rng = world.rng
    customer = _existing_customer(world, entity_instance_id)
    if customer is None:
        customer = _invented_customer(world, entity_instance_id)
        world.customers.add(customer)
    change = rng.random()
    home = customer.addresses[0]
    city = next((c for c in CITIES if c.name == home["locality"]), CITIES[0])
    if change < 0.3:
        customer.email = _email(world, customer.firstname, customer.lastname)
    elif change < 0.5:
        customer.phonenumbers = {**customer.phonenumbers, "mobile": _mobile(world, city)}
    elif change < 0.7:
        customer.addresses = [_address(world, city, home["type"]), *customer.addresses[1:]]
    elif change < 0.85:
        customer.newsletter = not customer.newsletter
    else:
        customer.discount_rate = rng.choice(CUSTOMER_DISCOUNT_RATES)
    customer.updated_ms = max(now, customer.created_ms)
    return customer_payload(world, customer)


def customers_delete(world: World, entity_instance_id: str | None) -> dict[str, Any]:
    """Deletes an existing customer (the given one, else a random one) and returns it."""
    now = world.clock.tick()
    customer = _existing_customer(world, entity_instance_id)
    if customer is None:
        customer = _invented_customer(world, entity_instance_id)
    world.customers.remove(customer.id)
    customer.updated_ms = max(now, customer.created_ms)
    return customer_payload(world, customer, deleted=True)
