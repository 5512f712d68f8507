"""The local LLM: the packaged Qwen2.5-Coder-1.5B-Instruct GGUF and its llama.cpp runtime.

Two users: the sentiment teacher (:mod:`nlp.sentiment.teacher`), which labels unlabelled
crypto text once so the fast classifier can learn from it, and the agent, which answers
questions. Both load the model through :func:`nlp.llm.runtime.load_llama`.
"""
