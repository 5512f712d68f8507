"""The Model Context Protocol server: the read-only tools of Cryptosense for MCP clients.

- :mod:`api.mcp.reads`: the sentiment, signal, market, search and document reads, each the
  REST route's own function, so a tool and its route give the same figures.
- :mod:`api.mcp.server`: builds the ``MCPServer`` (official SDK) from them, with short
  descriptions and a category per tool; a failing call answers the real reason.
- :mod:`api.mcp.http`: streamable HTTP at ``/mcp`` under the API, behind the API keys.
- ``cryptosense mcp`` (:mod:`cryptosense.commands.mcp`): the same server over stdio.
"""
