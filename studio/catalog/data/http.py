"""HTTP Request (any API, with a connection of its own for its credentials) and Respond to
Webhook (the answer of a webhook flow whose trigger responds with that node)."""

from studio.catalog.models import Action, ConnectionField, ConnectionType, Port

from .common import T, field, src

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

HTTP_CONNECTION = ConnectionType(
    id="http", title="HTTP Credentials",
    description="Credentials for the HTTP Request node: a bearer token, an API key sent in a header or the query, "
                "or a user name and password (basic auth). The secret is kept in the credential store, never in a "
                "flow file.",
    sources=src("n8n", "HTTP Request credentials"),
    fields=[
        ConnectionField(key="auth", label="Authentication", default="bearer",
                        options=["bearer", "header", "query", "basic"],
                        description="bearer (Authorization: Bearer <secret>), header (<Header Name>: <secret>), "
                                    "query (?<Header Name>=<secret>) or basic (user name + secret as password)."),
        ConnectionField(key="header_name", label="Header or Parameter Name", default="Authorization",
                        description="The header (auth header) or query parameter (auth query) carrying the secret."),
        ConnectionField(key="username", label="User Name", description="The user name for basic auth."),
        ConnectionField(key="api_key", label="Secret", aliases=["Token", "Password", "API Key"], secret=True,
                        required=True, description="The token, key or password."),
    ],
)

HTTP_ACTIONS = [
    Action(
        id="http.request", kind="action", title="HTTP Request", category="HTTP", uses_connection=False,
        description="Call any HTTP API: method, query, headers, a JSON, form, multipart or raw body, credentials from "
                    "an HTTP connection, pagination, and the answer as JSON, text or a file. The host must be "
                    "written in the URL (not computed) and is shown for trust before an imported flow first runs.",
        sources=src("n8n", "HTTP Request"),
        inputs=[
            field("method", "Method", description="The HTTP method.", options=METHODS, default="GET"),
            field("url", "URL", T.STRING, "The full URL, e.g. https://api.example.com/v1/items. Its scheme and host "
                  "must be written here; expressions may fill in the path and query only.", required=True,
                  placeholder="https://api.example.com/v1/items"),
            field("authentication", "Authentication", description="Send credentials from an HTTP connection.",
                  options=[("none", "None"), ("connection", "HTTP connection")], default="none"),
            field("connection", "Connection", T.CONNECTION,
                  "An HTTP Credentials connection (Authentication: HTTP connection); its secret stays in the "
                  "credential store."),
            field("query", "Query Parameters", T.KEY_VALUE, "Added to the URL as ?name=value&..."),
            field("headers", "Headers", T.KEY_VALUE, "Request headers."),
            field("body_type", "Body Content Type", description="What the request body is.",
                  options=[("none", "No body"), ("json", "JSON"), ("form", "Form URL-encoded"),
                           ("multipart", "Multipart form data"), ("raw", "Raw text")], default="none"),
            field("body", "Body", T.JSON,
                  "Body JSON: any JSON value. Form and multipart: an object of fields; in multipart a value "
                  "{\"path\": \"data/report.pdf\"} (relative to the flow's folder) or an upstream file sends a file."),
            field("raw_body", "Raw Body", T.TEXT, "Body raw: the text to send."),
            field("raw_content_type", "Raw Content Type", T.STRING, "Body raw: its Content-Type.",
                  default="text/plain"),
            field("response_format", "Response Format", description="How to read the answer.",
                  options=[("auto", "Autodetect"), ("json", "JSON"), ("text", "Text"), ("file", "File")],
                  default="auto"),
            field("full_response", "Include Response Headers and Status", T.BOOLEAN,
                  "Output {status, headers, body} instead of the body only.", default=False, group="Options"),
            field("never_error", "Never Error", T.BOOLEAN,
                  "Succeed whatever the status code (otherwise a 4xx/5xx answer fails the node).", default=False,
                  group="Options"),
            field("follow_redirects", "Follow Redirects", T.BOOLEAN, "Follow 3xx redirects (same host only).",
                  default=True, group="Options"),
            field("pagination", "Pagination", description="Fetch more pages and output them all as one list.",
                  options=[("off", "Off"), ("next_url", "Next URL from the response"),
                           ("page_param", "Increment a page parameter")], default="off", group="Pagination"),
            field("next_url", "Next URL", T.STRING,
                  "Pagination next URL: where the next page is, filled in per page with `input` = the last "
                  "response ({status, headers, body}), e.g. {{ input.body.next }}. Empty ends. Same host only.",
                  group="Pagination", per_item=True),
            field("page_param", "Page Parameter", T.STRING, "Pagination page parameter: the query parameter.",
                  default="page", group="Pagination"),
            field("page_start", "First Page", T.INTEGER, "Pagination page parameter: the first page's number.",
                  default=1, group="Pagination"),
            field("results_field", "Results Field", T.STRING,
                  "The list in each page's body that is gathered (e.g. data; empty: the whole body). A page whose "
                  "list is empty ends the pagination.", group="Pagination"),
            field("max_pages", "Max Pages", T.INTEGER, "Stop after this many pages.", default=10, minimum=1,
                  maximum=1000, group="Pagination"),
            field("timeout_ms", "Timeout (ms)", T.INTEGER,
                  "The longest the whole request (with its retries and pages) may take; 0: 5 s to connect and 300 s "
                  "for an answer.", default=0, minimum=0, group="Advanced"),
            field("max_retries", "Max Retries", T.INTEGER,
                  "Retries of a call that failed with a network error, 429 or 5xx, with exponential backoff and the "
                  "server's Retry-After.", default=2, minimum=0, maximum=10, group="Advanced"),
            field("retry_delay_ms", "Retry Delay (ms)", T.INTEGER, "The first retry's wait; it doubles each time.",
                  default=500, minimum=0, group="Advanced"),
        ],
    ),
    Action(
        id="webhook.respond", kind="action", title="Respond to Webhook", category="HTTP", uses_connection=False,
        description="Answer the request that started a webhook flow (its trigger's Respond: Using 'Respond to "
                    "Webhook' node): status, headers and body. The flow goes on after it; its input passes through.",
        sources=src("n8n", "Respond to Webhook"),
        inputs=[
            field("respond_with", "Respond With", description="What the answer's body is.",
                  options=[("input", "The node's input (JSON)"), ("json", "JSON"), ("text", "Text"),
                           ("no_data", "No data"), ("redirect", "Redirect")], default="input"),
            field("response_json", "Response Body (JSON)", T.JSON, "Respond with JSON: the body."),
            field("response_text", "Response Body (Text)", T.TEXT, "Respond with text: the body."),
            field("redirect_url", "Redirect URL", T.STRING, "Respond with redirect: the Location."),
            field("status_code", "Response Code", T.INTEGER, "The HTTP status code.", default=200, minimum=100,
                  maximum=599),
            field("headers", "Response Headers", T.KEY_VALUE, "Headers of the answer."),
        ],
        outputs=[Port(key="output", label="Output")],
    ),
]
