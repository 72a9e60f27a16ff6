"""`hudproxy inspect CASSETTE --model`: the learned model as text, each rule with the interactions that taught it,
then what could not be learned and why."""

from __future__ import annotations

from hudproxy.resources.model import Resource, ResourceModel

EVIDENCE = 8


def interactions(indexes: list[int]) -> str:
    if not indexes:
        return ""
    shown = ", ".join(str(i) for i in indexes[:EVIDENCE])
    more = f", … ({len(indexes)} kept)" if len(indexes) > EVIDENCE else ""
    return f"interaction{'s' if len(indexes) > 1 else ''} {shown}{more}"


def model_lines(model: ResourceModel, source: str = "") -> list[str]:
    title = f"resource model of {source}" if source else "resource model"
    lines = [f"{title}: {len(model.resources)} resource(s) from {model.interactions} interactions"]
    for resource in model.resources:
        lines.extend(resource_lines(resource))
    if model.templates:
        lines.append("")
        lines.append("path variables")
        for variable in model.templates:
            if variable.get("from") == "openapi":
                lines.append(f"  {variable['template']}  from the OpenAPI document (over the inferred template) "
                             f"[{interactions(variable['interactions'])}]")  # fmt: skip
                continue
            confirmed = variable["confirmed_by"]
            why = (f"confirmed by interaction {confirmed['interaction']} (field {confirmed['field']!r})"
                   if confirmed else "not confirmed by any body: taken for ids by their looks")  # fmt: skip
            joined = (
                f"; joined: {', '.join(variable['joined'])} (4xx leaves or confirmed)" if variable["joined"] else ""
            )
            lines.append(f"  {variable['template']}  {variable['values']} values, {why}{joined}")
    if model.gaps:
        lines.append("")
        lines.append("not learned (such requests are answered only as recorded, else missed)")
        for gap in model.gaps:
            evidence = f"  [{interactions(gap.evidence)}]" if gap.evidence else ""
            lines.append(f"  {gap.subject}: {gap.reason}{evidence}")
    return lines


def where(resource: Resource) -> str:
    if resource.mcp_server is not None:
        tools = ", ".join(getattr(rule, "tool", rule.name) for rule in resource.tool_rules)
        return f"MCP server {resource.mcp_server!r}, tools {tools}"
    return f"{resource.collection.text} and {resource.item.text}"


def resource_lines(resource: Resource) -> list[str]:
    parent = f", nested under {resource.parent}" if resource.parent else ""
    source = "; from the OpenAPI document (no interaction recorded)" if resource.source == "openapi" else ""
    lines = [
        "",
        f"{resource.name}: {where(resource)}{parent}{source}",
        f"  id field {resource.id_field!r}, new ids: {resource.id_style.describe()}; "
        f"{resource.known_items()} item(s) at the start  [{interactions(resource.id_evidence)}]",
    ]
    for rule in resource.rules():
        lines.append(f"  {rule.name}: {rule.describe()}  [{interactions(rule.evidence)}]")
        fields = getattr(rule, "fields", None)
        if isinstance(fields, dict):
            for name, role in fields.items():
                does = role.describe()
                if role.kind == "parent":
                    does = f"the parent's id ({{{resource.collection.names[role.value]}}} in the path)"
                lines.append(f"      {name}: {does}")
        lines.extend(f"      note: {note}" for note in rule.notes)
    return lines
