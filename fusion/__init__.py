"""Fusion: sentiment indices + price + on-chain features -> signals, validated walk-forward,
as of every moment (docs/fusion.md).

Importing this package loads nothing heavy; each module imports what it needs. The public
surface, by module:

- ``fusion.data``: :class:`MarketData` (one asset and timeframe, with the as-of rules in
  ``asof_view``), the :class:`DataProvider` protocol (``assets()``,
  ``market_data(asset, timeframe, asof)``), :class:`FrameProvider`, ``index_points_frame``
  (nlp index points -> the sentiment frame), :class:`FusionDataError` (one clear line).
- ``fusion.features``: ``build_features(md) -> FeatureFrame`` (the one builder),
  ``feature_row(provider, asset, timeframe, t)`` (the live row), ``CustomFeature``.
- ``fusion.lookahead``: ``check_lookahead(provider, asset, timeframe, ...)``,
  ``check_warmup(md)``, ``PLANTED_LEAK``.
- ``fusion.study``: ``run_study(md, settings, StudySpec(...)) -> Study``;
  ``fusion.report``: ``card(study)``, ``card_json``, ``card_html``, ``write_card``.
- ``fusion.signal``: ``fit_live_model(md, settings)``, ``live_signal(provider, asset,
  timeframe, now, model, settings, gate=, drift=, day_return=) -> LiveSignal`` (``.record()``
  is the stored ``core.records.Signal``); ``fusion.model.FusionModel.save/load``.
- ``fusion.gates``: ``promotion_gate``, ``risk_gate``, ``risk_context``;
  ``fusion.drift``: ``drift_report``; ``fusion.ledger``: ``build_ledger``, ``summarise``.

Over the store (what the commands and the service call):

- ``fusion.store_provider``: :class:`StoreProvider` (``from_settings(store, prices, fusion)``).
- ``fusion.runs``: ``run_recorded_study`` (the card written, the run recorded),
  ``reports_dir``; ``fusion.figures``: ``summary_lines``, ``markdown_table``.
- ``fusion.registry``: ``train_and_register`` (promoted on its card), ``ModelCache``.
- ``fusion.live``: ``make_signal``, ``store_signal``, ``update_ledger``, ``ledger_summary``,
  :class:`FusionJob` (``step(now)``: the service's schedule).
"""
