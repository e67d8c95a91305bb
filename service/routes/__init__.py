"""HTTP routers, one module per area; each route calls a function of the service and holds no logic."""

from service.routes import (
    audiences,
    campaigns,
    customers,
    drafts,
    events,
    experiments,
    health,
    imports,
    jobs,
    models,
    review,
    send_times,
    tracking,
    unsubscribe,
)

# The API's routers, which take a key: a query parameter none of their routes takes is refused by name
# (deps.known_query_parameters), as a misspelt one changed what was done in silence: `POST /campaigns/{id}/send?
# batchsize=100` sent the whole campaign, and `?holdout_shar=0.2` sent it with no holdout, neither to be undone.
KEYED_ROUTERS = [
    imports.router,
    customers.router,
    audiences.router,
    campaigns.router,
    drafts.router,
    events.router,
    experiments.router,
    send_times.router,
    jobs.router,
    models.router,
    customers.record_router,  # last: /customers/{customer_id:path} would take the routes under a customer
]
# The pages and links people open from elsewhere, which a link's own tracking parameters (utm_source...) must not
# break: the health check, the review page, and the unsubscribe and tracking links of sent email.
OPEN_ROUTERS = [health.router, review.router, unsubscribe.router, tracking.router]
