"""Live pollers: sources asked over the network on an interval by the runner.

One module per source: :mod:`~collectors.live.rss` (RSS/Atom/JSON feeds),
:mod:`~collectors.live.articles` (the feeds' article pages), :mod:`~collectors.live.reddit`
(with its praw client in :mod:`~collectors.live.reddit_client`),
:mod:`~collectors.live.cryptopanic`, :mod:`~collectors.live.prices` (ccxt candles),
:mod:`~collectors.live.onchain` (Coin Metrics) and :mod:`~collectors.live.demo` (the offline
demo feeds and their 127.0.0.1 server). Each exposes a ``build_collectors`` that takes its own
settings sections; :func:`collectors.registry.build_collectors` hands them out.
"""
