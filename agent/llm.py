"""The chat model behind ``agent.llm_backend``: LangChain chat models, built lazily.

``llama-cpp``: :class:`LlamaCppChat`, a thin LangChain chat model over
:func:`nlp.llm.runtime.load_llama` (the portable build and the packaged GGUF the set-up
assembles; the model loads on the first call, once per process and path).
``openai-compatible``: ``langchain_openai.ChatOpenAI`` with ``base_url``, ``model`` and key
(Ollama, vLLM, a llama.cpp server, a hosted API).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from core.errors import UserFacingError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from core.settings import AgentSettings

log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, int, int | None, int | None], Llama] = {}
_LOCK = threading.Lock()


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(m.type, "user")


class LlamaCppChat(BaseChatModel):
    """A local GGUF chat model (the GGUF's own chat template), streaming token by token."""

    model_path: Path | None = None
    n_ctx: int = 4096
    threads: int | None = None
    threads_batch: int | None = None
    max_tokens: int = 256
    temperature: float = 0.1
    seed: int = 13
    _llm: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    def llama(self) -> Llama:
        if self._llm is None:
            from nlp.llm.runtime import load_llama, resolve_model_path

            key = (
                str(resolve_model_path(self.model_path)),
                self.n_ctx,
                self.threads,
                self.threads_batch,
            )
            with _LOCK:
                if key not in _LOADED:
                    _LOADED[key] = load_llama(
                        self.model_path,
                        n_ctx=self.n_ctx,
                        threads=self.threads,
                        threads_batch=self.threads_batch,
                        seed=self.seed,
                    )
                self._llm = _LOADED[key]
        return self._llm

    def _messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": _role(m), "content": str(m.content)} for m in messages]

    def _prompt_tokens(self, msgs: list[dict[str, str]]) -> int:
        text = "".join(m["content"] for m in msgs)
        return len(self.llama().tokenize(text.encode(), add_bos=False)) + 4 * len(msgs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llm = self.llama()
        msgs = self._messages(messages)
        n_in = self._prompt_tokens(msgs)
        n_out = 0
        with _LOCK:  # one llama context: one generation at a time
            stream = llm.create_chat_completion(
                messages=msgs,  # type: ignore[arg-type]
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=self.temperature,
                seed=self.seed,
                stop=stop,
                stream=True,
            )
            try:
                for part in stream:
                    delta: Any = part["choices"][0]["delta"]  # type: ignore[index]
                    text = str(delta.get("content") or "")
                    if not text:
                        continue
                    n_out += 1
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager is not None:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={
                    "input_tokens": n_in,
                    "output_tokens": n_out,
                    "total_tokens": n_in + n_out,
                },
            )
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = ""
        usage = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            text += str(chunk.message.content)
            usage = getattr(chunk.message, "usage_metadata", None) or usage
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))]
        )


def build_chat_model(settings: AgentSettings, *, max_tokens: int | None = None) -> BaseChatModel:
    """The chat model the settings name (not loaded until first used)."""
    tokens = max_tokens or settings.narrative_tokens
    if settings.llm_backend == "openai-compatible":
        if not settings.base_url or not settings.model:
            raise UserFacingError(
                "agent.llm_backend = openai-compatible needs agent.base_url and agent.model"
            )
        from langchain_openai import ChatOpenAI

        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        return ChatOpenAI(
            base_url=settings.base_url,
            model=settings.model,
            api_key=key,
            temperature=settings.temperature,
            max_completion_tokens=tokens,
            stream_usage=True,
            timeout=settings.time_budget_s,
            max_retries=0,
        )
    return LlamaCppChat(
        model_path=settings.model_path,
        n_ctx=settings.n_ctx,
        threads=settings.threads,
        threads_batch=settings.threads_batch,
        max_tokens=tokens,
        temperature=settings.temperature,
    )
