"""Per-entity ordering (SPEC 3): which earlier delivery a delivery waits for."""

from deliveries.models import Delivery

# States in which a delivery can be held back by an earlier one of its entity.
_WAITING_STATES = (Delivery.State.PENDING, Delivery.State.FAILED)


def delivery_waiting_for(delivery: Delivery) -> int | None:
    """The id of the unfinished delivery of the same subscription and entity published just
    before `delivery`, which it waits for; None when it is not ordered or waits for nothing.

    One probe of delivery_order_idx, and only for an ordered delivery that is waiting.
    """
    if delivery.ordering_entity_id is None or delivery.state not in _WAITING_STATES:
        return None
    return (
        Delivery.objects.filter(
            webhook_id=delivery.webhook_id,
            ordering_entity_id=delivery.ordering_entity_id,
            id__lt=delivery.id,
            state__in=Delivery.UNFINISHED_STATES,
        )
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
