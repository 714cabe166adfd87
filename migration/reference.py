"""Cliniko reference data: businesses -> ``cliniko.location``, appointment types ->
``cliniko.appointment.type``.

``map_business`` and ``map_appointment_type`` are the pure mapping rules (no Odoo); the
importers resolve countries, states and default billable items, write and audit.
``OneToOneImporter`` is the shape shared by every importer whose Cliniko record becomes exactly
one Odoo record (here and in ``products.py``).
"""

import re

import pytz

from .importer import Importer, MappingError, register
from .values import link_id, normalize_email, text

_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class OneToOneImporter(Importer):
    """One Cliniko record -> one Odoo record of ``model``, created in batches."""

    def owner_values(self):
        connection = self.runner.connection
        return {"connection_id": connection.id, "company_id": connection.company_id.id}

    def update_one(self, item, record):
        create_only = self.graph_resource.create_only_fields(self.model)
        values = {name: value for name, value in item.values.items() if name not in create_only}
        return self.write_changes(item, record, values)


def normalize_color(value):
    """Cliniko's ``#RGB`` or ``#RRGGBB`` as ``#RRGGBB`` (upper case); None when unreadable."""
    match = _HEX_COLOR.match(text(value) or "")
    if not match:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return "#" + digits.upper()


def map_business(record):
    """Map one Cliniko business to ``{"values": {...}, "address": {...}, "warnings": [...]}``."""
    name = (
        text(record.get("business_name"))
        or text(record.get("display_name"))
        or text(record.get("label"))
    )
    if not name:
        raise MappingError("the business has no name")
    warnings = []
    email, email_ok = normalize_email(record.get("email_reply_to"))
    if not email_ok:
        warnings.append("e-mail address is not valid; kept as typed")
    tz = text(record.get("time_zone_identifier"))
    if tz and tz not in pytz.all_timezones_set:
        warnings.append("time zone %r is not an IANA time zone; not kept" % tz)
        tz = None
    registration = " ".join(
        filter(
            None,
            [
                text(record.get("business_registration_name")),
                text(record.get("business_registration_value")),
            ],
        )
    )
    values = {
        "name": name,
        "cliniko_id": str(record["id"]),
        "active": not record.get("archived_at"),
        "street": text(record.get("address_1")) or False,
        "street2": text(record.get("address_2")) or False,
        "city": text(record.get("city")) or False,
        "zip": text(record.get("post_code")) or False,
        "tz": tz or False,
        "email": email or False,
        "website": text(record.get("website_address")) or False,
        "registration": registration or False,
        "contact_information": text(record.get("contact_information")) or False,
    }
    address = {
        "country_code": (text(record.get("country_code")) or "").upper() or None,
        "country": text(record.get("country")),
        "state": text(record.get("state")),
    }
    return {"values": values, "address": address, "warnings": warnings}


def map_appointment_type(record):
    """Map one Cliniko appointment type to ``{"values": {...}, "billable_item_id": ...,
    "product_id": ..., "warnings": [...]}``."""
    name = text(record.get("name"))
    if not name:
        raise MappingError("the appointment type has no name")
    warnings = []
    color = normalize_color(record.get("color"))
    if text(record.get("color")) and not color:
        warnings.append("colour %r is not #RRGGBB; not kept" % record.get("color"))
    values = {
        "name": name,
        "cliniko_id": str(record["id"]),
        "active": not record.get("archived_at"),
        "category": text(record.get("category")) or False,
        "description": text(record.get("description")) or False,
        "duration_minutes": to_integer(record.get("duration_in_minutes")),
        "max_attendees": to_integer(record.get("max_attendees")),
        "color": color or False,
    }
    return {
        "values": values,
        "billable_item_id": link_id(record.get("billable_item")),
        "product_id": link_id(record.get("product")),
        "warnings": warnings,
    }


def to_integer(value):
    """A Cliniko count as an int; 0 when missing or unreadable."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@register
class LocationImporter(OneToOneImporter):
    """Cliniko businesses (active and archived) -> clinic locations."""

    resource = "businesses"
    model = "cliniko.location"

    def map(self, item):
        mapped = map_business(item.source)
        country, state = self.runner.resolve_address(**mapped["address"])
        values = dict(
            mapped["values"],
            country_id=country.id or False,
            state_id=state.id or False,
            **self.owner_values(),
        )
        item.message = "; ".join(mapped["warnings"])
        return values


@register
class AppointmentTypeImporter(OneToOneImporter):
    """Cliniko appointment types (active and archived) -> clinic appointment types, each with
    its default billable item (migrated first) as product, which gives it its price."""

    resource = "appointment_types"
    model = "cliniko.appointment.type"

    def prepare(self, items):
        self._mapped = {}
        for item in items:
            try:
                self._mapped[item.cliniko_id] = map_appointment_type(item.source)
            except MappingError as error:
                self._mapped[item.cliniko_id] = error
        mapped = [value for value in self._mapped.values() if isinstance(value, dict)]
        self._billable_items = self.runner.records(
            "billable_items", [m["billable_item_id"] for m in mapped if m["billable_item_id"]]
        )
        self._products = self.runner.records(
            "products", [m["product_id"] for m in mapped if m["product_id"]]
        )

    def map(self, item):
        mapped = self._mapped[item.cliniko_id]
        if isinstance(mapped, MappingError):
            raise mapped
        warnings = list(mapped["warnings"])
        product = self.env["product.template"]
        for key, found, label in (
            ("billable_item_id", self._billable_items, "billable item"),
            ("product_id", self._products, "product"),
        ):
            cliniko_id = mapped[key]
            if not cliniko_id:
                continue
            if cliniko_id in found:
                product = product or found[cliniko_id]
            else:
                warnings.append("default %s %s was not migrated" % (label, cliniko_id))
        item.message = "; ".join(warnings)
        return dict(mapped["values"], product_id=product.id or False, **self.owner_values())
