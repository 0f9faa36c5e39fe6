"""HTTP transport shared by every surface: the /graphql endpoint (GraphQL over HTTP and its
WebSocket for subscriptions), GraphiQL, middleware, rate limits, and the operability
routes (/health, /ready, /metrics). The vendor REST dialects live in app/rest."""
