"""`tailor models list|use`: the trained models' kept versions, and which one is served (a rollback). Registered on
the `models` group by service.cli; heavy imports happen inside the commands."""

from __future__ import annotations

from typing import Annotated

import typer


def models_list() -> None:
    """Each kind's kept versions, newest first, with what training recorded; `*` marks the one in use, and `!` one in
    use that this version of Tailor cannot serve (saved by an older one), with why and what to do."""
    from service.pipeline.model_store import MODEL_KINDS, describe
    from service.settings import home_settings
    from service.state import model_store

    models = model_store(home_settings().models_dir)
    for kind in MODEL_KINDS:
        listing = describe(home_settings().models_dir, kind)
        trained = listing["versions"] or listing["current"]
        typer.echo(f"{kind}: {len(listing['versions'])} kept" if trained else f"{kind}: none trained")
        unservable = models.unservable(kind) if listing["current"] else None
        for version in listing["versions"]:
            mark = ("!" if unservable else "*") if version["current"] else " "
            typer.echo(f"  {mark} {version['version']}  {_model_summary(kind, version['metadata'])}")
            if version["current"] and unservable:
                typer.echo(f"      in use, but cannot be served: {unservable}")
        if listing["current"] and not any(version["current"] for version in listing["versions"]):
            # its folder or model file gone (deleted, a restore without models/): the kept ones were listed as if
            # none was in use, while the server refused every recommendation
            typer.echo(f"  ! {listing['current']}  in use, but its files are gone")
            typer.echo(f"      cannot be served: {unservable}")


def _model_summary(kind: str, metadata: dict) -> str:
    """One line of what a version is: the recommender's name and holdout NDCG@10, the engagement model's data."""
    if kind == "recommender":
        holdout = metadata.get("holdout") or {}
        quality = (
            f"holdout NDCG@10 {holdout['all_ndcg@10']:.4f} (new products {holdout['new_ndcg@10']:.4f})"
            if "all_ndcg@10" in holdout
            else f"holdout not measured: {holdout.get('skipped', 'unknown')}"
        )
        return f"{metadata.get('model')}  {metadata.get('data', {}).get('rows', '?')} rows  {quality}"
    sends, open_rate, shop = metadata.get("sends", "?"), metadata.get("open_rate"), metadata.get("shop_model")
    rate = f"open rate {open_rate:.1%}" if isinstance(open_rate, int | float) else "open rate not measured"
    return f"{sends} sends  {rate}  shop model {shop or 'none'}"


def models_use(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="recommender or engagement")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="a kept version, as `tailor models list` shows it")],
) -> None:
    """Serve a kept version from now on (a rollback); a running server switches to it without a restart."""
    from service.cli import _one_of
    from service.pipeline.model_store import MODEL_KINDS, use_version
    from service.settings import home_settings
    from service.state import check_servable

    _one_of(kind, MODEL_KINDS, "KIND")
    check_servable(home_settings().models_dir, kind, version)
    use_version(home_settings().models_dir, kind, version)
    typer.echo(f"{kind} {version} is in use")
