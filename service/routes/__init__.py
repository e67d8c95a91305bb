"""HTTP routers, one module per area; each route calls a function of the service and holds no logic."""

from service.routes import campaigns, customers, drafts, events, health, imports, jobs, review

ROUTERS = [
    health.router,
    imports.router,
    customers.router,
    campaigns.router,
    drafts.router,
    events.router,
    jobs.router,
    review.router,
]
