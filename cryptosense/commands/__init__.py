"""The subcommands of ``cryptosense``: one module per subcommand, one package per group.

Layout::

    args.py     argument types (ISO time, asset symbol, positive int, existing file, label
                map, trading pair, timeframe) and argument groups used by several commands
    common.py   what handlers share: open_store (and store_unless_dry_run),
                sentiment_errors, stored_model_version, fmt_time
    collect.py sources.py backfill.py score.py embed.py search.py serve.py run.py
    imports/    ``import prices|onchain`` (``import`` is a Python keyword)
    nlp/        ``nlp train|eval|bench`` (eval lives in evaluate.py: ``eval`` is a builtin)
    index/      ``index rebuild``
    db/         ``db current|upgrade``
    fusion/     ``fusion backtest|report|train|signal|lookahead`` (common.py: market flags,
                progress)

To add a command ``cryptosense foo``:

1. Write ``foo.py`` here with ``register(sub)``, which calls ``sub.add_parser("foo", help=...,
   description=...)``, adds its arguments and ends with ``set_defaults(handler=handle)``, and
   ``handle(args, settings) -> int``, which returns the exit code.
2. Give every flag that takes a time, an asset, a count, a file, a pair or a timeframe its
   ``type=`` from :mod:`cryptosense.commands.args`, so a bad value is refused as everywhere
   else (one line, exit 2) before anything is opened.
3. Import heavy libraries (torch, the store, the API, the model code) inside ``handle``:
   ``cryptosense --help`` imports every command module.
4. Raise :class:`cryptosense.errors.UserError` (or any :class:`core.errors.UserFacingError`)
   for what the user can fix; ``cryptosense.cli.main`` prints it as one line and exits 2.
   Print results to stdout (JSON lines where a program reads them), progress to the log.
5. Hand each component its own settings section (``settings.fusion``, ``settings.paths``),
   never the whole tree: commands are the wiring edge.
6. List the module in ``COMMANDS`` in :mod:`cryptosense.cli` (the order of ``--help``) and
   add it to the README's command list.

A command group ``cryptosense foo bar|baz`` is a package ``foo/``: its ``__init__.py``
registers the group (``sub.add_parser("foo")`` and ``add_subparsers(dest="foo_command",
metavar="ACTION", required=True)``) and calls ``register(actions)`` of ``bar.py`` and
``baz.py``, each written as above.
"""
