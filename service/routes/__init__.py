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

ROUTERS = [
    health.router,
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
    review.router,
    unsubscribe.router,
    tracking.router,
    customers.record_router,  # last: /customers/{customer_id:path} would take the routes under a customer
]
