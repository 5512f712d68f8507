"""Collectors: pull news, Reddit, RSS, prices and on-chain metrics into typed records.

Layout, by what a change is about::

    collectors/
      base.py          the Collector protocol, CollectResult, SourceError
      registry.py      build_collectors(source, settings): the one factory; hands each
                       source its own settings sections
      runner.py        one poll: cursor, store, circuit breaker
      scheduler.py     every source on its own interval
      http.py          fetching: timeouts, byte cap, retries, politeness
      assets.py        which assets a text mentions (AssetTagger)
      text.py          scraped text -> plain text, charset repair, language flag
      market.py        timeframes, pairs, the stored position of market series
      parsers/         source formats -> records, shared by live and import paths:
                       feed (RSS/Atom/JSON Feed), xml_guard, jsonfeed, reddit
      live/            pollers: rss, articles, reddit (+ reddit_client), cryptopanic,
                       prices, onchain, demo (+ demo_feeds/)
      importers/       files: archive/ (news archives, Reddit dumps), prices_csv
                       (+ price_repairs), onchain_csv, market_csv (shared by both)

Every live source implements :class:`collectors.base.Collector`; :mod:`collectors.runner`
polls them with retries, a per-source circuit breaker and crash-safe cursors.
"""
