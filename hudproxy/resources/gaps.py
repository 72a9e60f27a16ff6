"""The gaps of one learned resource: operations never recorded, ids not learned, validation not reproduced."""

from __future__ import annotations

from hudproxy.resources.model import Gap, Resource
from hudproxy.resources.samples import Samples


def resource_gaps(resource: Resource, found: Samples) -> list[Gap]:
    """What could not be learned about one resource, and why (each becomes a line of `inspect --model`)."""
    gaps: list[Gap] = []
    name, item, collection = resource.name, resource.item.text, resource.collection.text
    missing = [("read", f"GET {item}", resource.read), ("list", f"GET {collection}", resource.listing),
               ("create", f"POST {collection}", resource.create), ("delete", f"DELETE {item}", resource.delete),
               ("not-found", f"GET {item} of a missing item (a 4xx)", resource.not_found)]  # fmt: skip
    for what, request, rule in missing:
        if rule is None:
            gaps.append(Gap(f"{name}.{what}", f"no {request} was recorded: such requests stay misses"))
    if not resource.updates:
        gaps.append(Gap(f"{name}.update", f"no PATCH or PUT {item} was recorded: updates stay misses"))
    if resource.id_style.kind == "unknown" and resource.create is not None:
        gaps.append(Gap(f"{name}.create", "the style of new ids was not learned: creates stay misses"))
    if found.refused and resource.invalid is None:
        gaps.append(
            Gap(
                f"{name} validation",
                "recorded 4xx answers to writes (invalid input) are not "
                "reproduced: a write the model accepts is answered as valid",
                found.refused[:12],
            )
        )
    if found.late:
        gaps.append(
            Gap(
                f"{name} starting state",
                "some items were first seen only after a recorded write "
                "to them; their starting state is that later representation",
                found.late[:12],
            )
        )
    listing = resource.listing
    if listing is not None and listing.pagination.style != "none" and listing.pagination.default_size is None:
        gaps.append(
            Gap(
                f"{name}.list",
                "the default page size was not recorded: a list without a size shows every matching item",
                listing.evidence[:3],
            )
        )
    gaps.append(Gap(f"{name} items", f"{resource.known_items()} item(s) known at the start; lists and "
                         "reads know only the items the recording showed"))  # fmt: skip
    return gaps
