"""The general nodes every automation needs besides API calls: branch on a value (If, Switch,
Filter), reshape data (Set, Split Out, Aggregate, Sort, Limit, Remove Duplicates), join branches
(Merge), run part of the flow per item (Loop), pause (Wait), pass through (No-op) and fail on
purpose (Stop and Error).

Items: a node's input that is a JSON array is a list of items and the per-item nodes (If, Switch,
Filter, Set) work on each; any other value is one item. Inputs marked `per_item` have their
`{{ }}` expressions filled in once per item, with `input` = that item."""

from studio.catalog.models import Action, Port

from .common import T, field

# Typed operators of a condition ("<type>.<operation>"); the ones marked unary take no right value.
OPERATORS: dict[str, list[str]] = {
    "string": ["equals", "not_equals", "contains", "not_contains", "starts_with", "not_starts_with",
               "ends_with", "not_ends_with", "regex", "not_regex", "empty", "not_empty", "exists", "not_exists"],
    "number": ["equals", "not_equals", "gt", "gte", "lt", "lte", "empty", "not_empty", "exists", "not_exists"],
    "boolean": ["true", "false", "equals", "not_equals", "empty", "not_empty", "exists", "not_exists"],
    "datetime": ["equals", "not_equals", "after", "before", "after_or_equal", "before_or_equal", "empty",
                 "not_empty", "exists", "not_exists"],
    "array": ["contains", "not_contains", "length_equals", "length_not_equals", "length_gt", "length_gte",
              "length_lt", "length_lte", "empty", "not_empty", "exists", "not_exists"],
    "object": ["empty", "not_empty", "exists", "not_exists"],
}
UNARY_OPERATIONS = frozenset({"empty", "not_empty", "exists", "not_exists", "true", "false"})

CONDITIONS_HELP = ("A list of conditions, each {\"left\": value, \"operator\": \"<type>.<operation>\", \"right\": "
                   "value}, e.g. {\"left\": \"{{ input.status }}\", \"operator\": \"string.equals\", \"right\": "
                   "\"paid\"}. Types and operations: " + "; ".join(f"{t}: {', '.join(ops)}" for t, ops in
                                                               OPERATORS.items())
                   + ". Expressions are filled in per item (`input` is the item).")
DEFAULT_CONDITIONS = [{"left": "{{ input }}", "operator": "string.equals", "right": ""}]


def condition_inputs() -> list:
    """The inputs If and Filter share (Switch rules carry their own conditions and combinator)."""
    return [
        field("conditions", "Conditions", T.JSON, CONDITIONS_HELP, default=DEFAULT_CONDITIONS, required=True,
              per_item=True),
        field("combinator", "Combine Conditions", description="Whether every condition must hold, or any one.",
              options=[("and", "AND (all conditions)"), ("or", "OR (any condition)")], default="and"),
        *comparison_options(),
    ]


def comparison_options() -> list:
    return [
        field("ignore_case", "Ignore Case", T.BOOLEAN, "Compare text without regard to upper and lower case.",
              default=False, group="Options"),
        field("loose_types", "Convert Types Where Required", T.BOOLEAN,
              "Convert values to the operator's type (\"3\" as the number 3, \"true\" as true) instead of failing "
              "the node on a value of the wrong type.", default=False, group="Options"),
    ]


def core(id: str, title: str, description: str, inputs: list, outputs: list[Port] | None = None, **extra) -> Action:
    return Action(id=id, kind="action", title=title, category=extra.pop("category", "Flow"), description=description,
                  uses_connection=False, inputs=inputs,
                  outputs=outputs if outputs is not None else [Port(key="output", label="Output")], **extra)


ACTIONS = [
    core("core.if", "If", "Route each item to the true or false output by a set of conditions.",
         condition_inputs(),
         [Port(key="true", label="True"), Port(key="false", label="False")]),
    core("core.switch", "Switch", "Route each item to the output of the first rule it matches (or of every "
         "matching rule), else to the fallback output.",
         [
             field("rules", "Routing Rules", T.JSON,
                   "A list of rules, each {\"key\": output name, \"conditions\": [...], \"combinator\": \"and\"|\"or\"}; "
                   "the output ports are the rules' keys, in order. Conditions as in If.",
                   default=[{"key": "output_0", "conditions": DEFAULT_CONDITIONS, "combinator": "and"}],
                   required=True, per_item=True),
             field("fallback", "Fallback Output", description="Where an item that matches no rule goes.",
                   options=[("none", "None (dropped)"), ("extra", "Fallback output"), ("first", "First rule's output")],
                   default="none"),
             field("all_matching", "Send to All Matching Outputs", T.BOOLEAN,
                   "Send an item to every rule it matches instead of only the first.", default=False, group="Options"),
             *comparison_options(),
         ],
         [Port(key="fallback", label="Fallback")], dynamic_outputs_from="rules"),
    core("core.filter", "Filter", "Keep only the items that meet the conditions.",
         condition_inputs(),
         [Port(key="output", label="Kept"), Port(key="discarded", label="Discarded")],
         category="Data"),
    core("core.set", "Edit Fields (Set)", "Set fields on each item: typed assignments or a JSON object, keeping or "
         "dropping the item's other fields.",
         [
             field("mode", "Mode", description="Assign fields one by one, or give the whole object as JSON.",
                   options=[("manual", "Manual mapping"), ("json", "JSON")], default="manual"),
             field("assignments", "Fields to Set", T.JSON,
                   "A list of {\"name\": field (dots make nested fields), \"type\": string|number|boolean|array|"
                   "object, \"value\": value or {{ expression }}}; expressions are filled in per item.",
                   default=[], per_item=True),
             field("json_output", "JSON Output", T.JSON, "Mode JSON: the object to set (expressions per item).",
                   per_item=True),
             field("include", "Other Input Fields",
                   description="Which of the item's other fields the output keeps.",
                   options=[("all", "All other fields"), ("none", "No other fields"),
                            ("selected", "Selected fields"), ("except", "All except")], default="all"),
             field("include_fields", "Fields to Include or Exclude", T.STRING_LIST,
                   "Field names for Other Input Fields: selected / all except."),
             field("dot_notation", "Support Dot Notation", T.BOOLEAN,
                   "Read a name like a.b as the nested field b of a (off: a field named \"a.b\").", default=True,
                   group="Options"),
             field("ignore_conversion_errors", "Ignore Type Conversion Errors", T.BOOLEAN,
                   "Keep a value that does not convert to its type as it is, instead of failing the node.",
                   default=False, group="Options"),
         ], category="Data"),
    core("core.merge", "Merge", "Join the values of two branches once both have finished: append, pair by "
         "position, match by a key field, or wait for both and pass one on.",
         [
             field("input_1", "Input 1", T.JSON, "The first branch (wire it here).", port=True),
             field("input_2", "Input 2", T.JSON, "The second branch (wire it here).", port=True),
             field("mode", "Mode", description="How the two inputs become one output.",
                   options=[("append", "Append"), ("by_position", "Combine by position"),
                            ("by_key", "Combine by matching fields"), ("wait", "Choose branch (wait for both)")],
                   default="append"),
             field("key_1", "Input 1 Field", T.STRING, "Mode by key: the field of input 1's items to match on."),
             field("key_2", "Input 2 Field", T.STRING,
                   "Mode by key: the field of input 2's items to match on (empty: the same as Input 1 Field)."),
             field("join", "Output Type", description="Mode by key: which items the output holds.",
                   options=[("keep_matches", "Keep matches (merged)"), ("keep_non_matches", "Keep non-matches"),
                            ("keep_everything", "Keep everything"), ("enrich_1", "Enrich input 1"),
                            ("enrich_2", "Enrich input 2")], default="keep_matches"),
             field("include_unpaired", "Include Unpaired Items", T.BOOLEAN,
                   "Mode by position: keep the extra items of the longer input.", default=False),
             field("output_branch", "Output", description="Mode choose branch: what passes on once both arrived.",
                   options=[("input_1", "Input 1's value"), ("input_2", "Input 2's value"),
                            ("both", "Both, as [input 1, input 2]"), ("empty", "An empty item")],
                   default="input_1"),
         ], category="Flow"),
    core("core.split_out", "Split Out", "Turn a list field of the input into a list of items (one per element), "
         "optionally keeping the input's other fields on each.",
         [
             field("field_to_split", "Field to Split Out", T.STRING,
                   "The list field, e.g. data.items (dots for nested fields); several comma-separated fields are "
                   "split side by side.", required=True),
             field("include", "Include",
                   description="Which other fields of the input each new item keeps.",
                   options=[("none", "No other fields"), ("all", "All other fields"),
                            ("selected", "Selected other fields")], default="none"),
             field("fields_to_include", "Fields to Include", T.STRING_LIST, "Include: selected fields."),
             field("destination_field", "Destination Field Name", T.STRING,
                   "Put each element under this field (default: an object element is the item itself, any other "
                   "value goes under the split field's name)."),
         ], category="Data"),
    core("core.loop", "Loop Over Items", "Run the nodes wired to Loop once per item (or batch), several at a time "
         "up to the concurrency limit; Done carries the gathered results, in item order.",
         [
             field("items", "Items", T.JSON, "The list to loop over (default: the node's input; a value that is "
                   "not a list is one item).", default="{{ input }}"),
             field("batch_size", "Batch Size", T.INTEGER, "Items per run of the loop body (more than 1: the "
                   "body gets a list).", default=1, minimum=1),
             field("concurrency", "Concurrency", T.INTEGER, "How many items run through the body at once.",
                   default=1, minimum=1, maximum=32),
             field("on_item_error", "On Item Error", description="What a failed item does to the loop.",
                   options=[("stop", "Stop the loop (node fails)"), ("continue", "Continue (the item's result is "
                            "{error})")], default="stop"),
         ],
         [Port(key="loop", label="Loop"), Port(key="done", label="Done")]),
    core("core.aggregate", "Aggregate", "Gather the items of a list into one item: chosen fields as lists, or all "
         "items under one field.",
         [
             field("mode", "Aggregate", description="Which data is gathered.",
                   options=[("fields", "Individual fields"), ("all", "All item data (into a single list)")],
                   default="fields"),
             field("fields", "Fields to Aggregate", T.JSON,
                   "Mode individual fields: a list of field names or {\"field\", \"rename\"} objects; each becomes a "
                   "list of that field's values.", default=[]),
             field("destination_field", "Put Output in Field", T.STRING, "Mode all item data: the output field.",
                   default="data"),
             field("merge_lists", "Merge Lists", T.BOOLEAN, "Flatten fields whose values are lists into one list.",
                   default=False, group="Options"),
             field("keep_missing", "Keep Missing And Null Values", T.BOOLEAN,
                   "Add null for an item that lacks the field, instead of leaving it out.", default=False,
                   group="Options"),
         ], category="Data"),
    core("core.sort", "Sort", "Sort a list of items by fields, or shuffle it.",
         [
             field("type", "Type", description="How to order the items.",
                   options=[("simple", "Simple (by fields)"), ("random", "Random")], default="simple"),
             field("fields", "Fields To Sort By", T.JSON,
                   "A list of {\"field\": name, \"order\": \"ascending\"|\"descending\"}; the first decides, the "
                   "next break ties.", default=[]),
         ], category="Data"),
    core("core.limit", "Limit", "Keep only the first (or last) items of a list.",
         [
             field("max_items", "Max Items", T.INTEGER, "How many items to keep.", default=1, minimum=0),
             field("keep", "Keep", description="Which end of the list to keep.",
                   options=[("first", "First items"), ("last", "Last items")], default="first"),
         ], category="Data"),
    core("core.remove_duplicates", "Remove Duplicates", "Drop items of a list that repeat an earlier one (whole "
         "item, or chosen fields).",
         [
             field("compare", "Compare", description="What makes two items the same.",
                   options=[("all_fields", "All fields"), ("selected_fields", "Selected fields"),
                            ("all_except", "All fields except")], default="all_fields"),
             field("fields", "Fields", T.STRING_LIST, "The fields for selected / all except."),
         ], category="Data"),
    core("core.wait", "Wait", "Pause the flow for a while, then pass the input on.",
         [
             field("amount", "Wait Amount", T.NUMBER, "How long to wait.", default=1, minimum=0),
             field("unit", "Unit", description="The unit of Wait Amount.",
                   options=["seconds", "minutes", "hours", "days"], default="seconds"),
         ]),
    core("core.noop", "No Operation", "Do nothing: pass the input on unchanged (a place to branch from or a "
         "marker on the canvas).", []),
    core("core.stop_and_error", "Stop and Error", "Fail the node (and, unless it continues on error, the run) "
         "with a message or an error object of your own.",
         [
             field("error_type", "Error Type", description="What the error carries.",
                   options=[("message", "Error message"), ("object", "Error object")], default="message"),
             field("message", "Error Message", T.STRING, "The error's message.", default="Stopped by the flow"),
             field("error_object", "Error Object", T.JSON,
                   "Error type object: a JSON object, kept as the error's details (its \"message\" key, if any, "
                   "is the message)."),
         ]),
]
