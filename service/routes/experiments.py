"""Experiment results of a campaign run as an A/B/n test with a holdout (see service.experiments)."""

from fastapi import APIRouter

from service import campaigns as campaign_ops
from service.deps import ApiKeyDep, SessionDep
from service.experiments import experiment_results
from service.routes.responses import KEYED, errors
from service.schemas import DatabaseId, ExperimentOut

router = APIRouter(tags=["experiments"], responses=errors(*KEYED))


@router.get("/campaigns/{campaign_id}/experiment", response_model=ExperimentOut, responses=errors(404, 409))
def results(campaign_id: DatabaseId, session: SessionDep, _key: ApiKeyDep) -> ExperimentOut:
    """Per arm: sends, opens, clicks, conversions, rates with credible intervals, P(best) and the lift over
    the holdout; and the share of the next sends each variant would get."""
    return experiment_results(session, campaign_ops.get_campaign(session, campaign_id))
