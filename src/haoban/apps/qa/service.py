"""Policy Q&A: answers with citations from the knowledge bases, with or without a generative model.

One question goes through:
1. checks (empty, too long) and the conversation it belongs to;
2. follow-up rewriting into a standalone question (rules; the model when one is available);
3. hybrid retrieval (keywords + vectors) of the top passages;
4. sentence selection: the 1–3 sentences that answer, with their spans (extract.py);
5. the evidence score; below the calibrated line the answer is a refusal with a hand-off (evidence.py);
6. when the question is an imported question–answer pair's question (faq.py): that pair's stored answer,
   whole and cited, with or without a model — officials wrote it for this question, a model would only
   paraphrase it;
7. otherwise with a model: a grounded answer over the numbered passages, kept only if its citations check
   out (generate.py); otherwise, or without a model, the extractive answer;
8. the question and the whole answer are stored, so conversations can be replayed and rated.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import IntegrityError

from haoban.apps.qa import faq, generate
from haoban.apps.qa.evidence import MIN_DENSE_COVERAGE, Evidence, assess
from haoban.apps.qa.extract import Extraction, Passage, compose, extract, lead_heading, source_phrase
from haoban.apps.qa.intent import detect_intent
from haoban.apps.qa.question import QuestionInfo, analyze
from haoban.apps.qa.related import document_suggestions, related_questions
from haoban.apps.qa.rewrite import is_follow_up, rewrite_rules
from haoban.apps.qa.schemas import (
    Answer,
    AnswerCitation,
    AnswerEvent,
    ConversationOut,
    ConversationSummary,
    FaqSource,
    Intent,
    MessageOut,
)
from haoban.errors import Forbidden, HaobanError, InvalidInput, NotFound
from haoban.knowledge.schemas import SearchFilters, SearchHit, SearchResult
from haoban.logs import get_logger, log_event
from haoban.safety.auth import SYSTEM, Actor, Resource, allowed, authorize
from haoban.safety.guard import BLOCKED_REPLY, GuardDecision
from haoban.safety.injection import strip_injection
from haoban.safety.models import Department, User
from haoban.store.models import (
    Chunk,
    Conversation,
    Document,
    Feedback,
    Message,
    new_id,
    utcnow,
)

if TYPE_CHECKING:
    from haoban.knowledge.service import KnowledgeService
    from haoban.llm.gateway import ModelGateway

log = get_logger("qa")

MAX_QUESTION_CHARS = 500
MAX_COMMENT_CHARS = 1000
RETRIEVE = 15  # passages fetched: the first EVIDENCE are read for the answer, the rest feed related questions
EVIDENCE = 12
MODEL_EVIDENCE = 5  # passages shown to the model
MODEL_MAX_TOKENS = 800
LEAD_CHARS = 80  # text read before a passage to find a heading it starts under

REFUSAL_TEXT = "知识库中未找到相关依据。"
HANDOFF_TEXT = "建议您换个说法再问，或选择“转人工”由工作人员解答，也可拨打12345政务服务便民热线咨询。"
ROUTING_TEXT = {
    "投诉": "如需投诉、举报或反映问题，可拨打12345政务服务便民热线或通过政务服务平台提交诉求，由承办部门依法办理并答复。",
    "建议": "您的意见建议可通过12345政务服务便民热线或政务服务平台提交，相关部门会认真研究。",
}


@dataclass
class _Turn:
    """Everything about one question up to (not including) the choice of generative vs extractive."""

    started: float
    question: str
    rewritten: str
    intent: Intent
    conversation_id: str
    new_conversation: bool
    kbs: list[str]
    message_id: str
    actor: Actor = SYSTEM
    guard: GuardDecision | None = None  # the input decision; a blocked question is answered by BLOCKED_REPLY
    result: SearchResult | None = None
    info: QuestionInfo | None = None
    extraction: Extraction | None = None
    evidence: Evidence | None = None
    faq: faq.FaqMatch | None = None  # the question is this question–answer pair's question
    notices: list[str] = field(default_factory=list)

    @property
    def hits(self) -> list[SearchHit]:
        return self.result.hits if self.result else []

    @property
    def refuse(self) -> bool:
        if self.blocked:
            return True
        return self.faq is None and (self.evidence is None or not self.evidence.answerable)

    @property
    def may_generate(self) -> bool:
        """A matched question–answer pair is answered with its stored answer, never a model's paraphrase."""
        return not self.refuse and self.faq is None

    @property
    def blocked(self) -> bool:
        return self.guard is not None and self.guard.blocked


class QAService:
    def __init__(self, knowledge: KnowledgeService, gateway: ModelGateway | None = None):
        self.knowledge = knowledge
        self.gateway = gateway
        self.db = knowledge.db

    # ---- asking ---------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        kbs: list[str] | None = None,
        conversation_id: str | None = None,
        filters: SearchFilters | None = None,
        use_model: bool = True,
        actor: Actor = SYSTEM,
    ) -> Answer:
        """Answer one question (a follow-up when conversation_id is given); the answer is stored."""
        turn = self._prepare(question, kbs, conversation_id, filters, use_model, actor)
        answer: Answer | None = None
        if turn.may_generate and self._model_ready(use_model):
            try:
                evidence = self._model_evidence(turn)
                messages = generate.build_messages(turn.rewritten, [e for e, _ in evidence])
                result = self.gateway.chat(self._chat_messages(messages), max_tokens=MODEL_MAX_TOKENS)  # type: ignore[union-attr]
                answer = self._generative(turn, result.text, evidence)
            except HaobanError as err:
                self._model_failed(turn, err)
        if answer is None:
            answer = self._fallback(turn)
        answer = self._guard_output(turn, answer)
        self._save(turn, answer)
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        kbs: list[str] | None = None,
        conversation_id: str | None = None,
        filters: SearchFilters | None = None,
        use_model: bool = True,
        actor: Actor = SYSTEM,
    ) -> Iterator[AnswerEvent]:
        """Events: meta (ids, standalone question, intent), delta (text as it comes), done (the answer).

        The answer in "done" is authoritative: when a streamed model answer fails the citation check
        it is replaced by the extractive one, and "done" carries "replaced": true.
        """
        turn = self._prepare(question, kbs, conversation_id, filters, use_model, actor)
        # A stored pair's answer is ready (and checked) before anything is sent, so "meta" names the pair only
        # when the answer that follows really is it.
        ready = self._guard_output(turn, self._fallback(turn)) if turn.faq is not None else None
        yield {
            "type": "meta",
            "conversation_id": turn.conversation_id,
            "message_id": turn.message_id,
            "question": turn.question,
            "rewritten_question": turn.rewritten,
            "intent": turn.intent,
            "notice": turn.result.notice if turn.result else None,
            "faq": ready.faq.question if ready and ready.faq else None,
        }
        answer: Answer | None = None
        replaced = False
        if turn.may_generate and self._model_ready(use_model):
            evidence = self._model_evidence(turn)
            messages = generate.build_messages(turn.rewritten, [e for e, _ in evidence])
            parts: list[str] = []
            stream = None
            try:
                stream = self.gateway.stream(self._chat_messages(messages), max_tokens=MODEL_MAX_TOKENS)  # type: ignore[union-attr]
                for token in stream:
                    parts.append(token)
                    yield {"type": "delta", "text": token}
                answer = self._generative(turn, "".join(parts), evidence)
            except HaobanError as err:
                self._model_failed(turn, err)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # also when the caller stops reading: release the model connection
            replaced = answer is None and bool(parts)
            if answer is not None:
                checked = self._guard_output(turn, answer)
                replaced, answer = checked is not answer and checked.text != answer.text, checked
        if answer is None:
            answer = ready or self._guard_output(turn, self._fallback(turn))
            lines = answer.text.split("\n")
            for i, line in enumerate(lines):
                yield {"type": "delta", "text": line + ("\n" if i < len(lines) - 1 else "")}
        self._save(turn, answer)
        yield {"type": "done", "answer": answer, "replaced": replaced}

    def _fallback(self, turn: _Turn) -> Answer:
        if turn.blocked:
            return self._blocked(turn, turn.guard)  # type: ignore[arg-type]
        if turn.faq is not None:
            return self._faq_answer(turn, turn.faq)
        return self._extractive(turn) if not turn.refuse else self._refusal(turn)

    def _blocked(self, turn: _Turn, decision: GuardDecision) -> Answer:
        answer = self._answer(turn, "refusal", BLOCKED_REPLY, [])
        answer.related_questions = []
        answer.guard = decision.summary()
        return answer

    def _guard_output(self, turn: _Turn, answer: Answer) -> Answer:
        """The answer passes the same lexicon as questions; identifiers in it are masked."""
        if turn.blocked:
            return answer
        decision = self.knowledge.guard.check_output(answer.text)
        if decision.blocked:
            return self._blocked(turn, decision)
        if decision.findings:
            answer = answer.model_copy(update={"text": decision.text, "guard": decision.summary()})
        elif turn.guard is not None and turn.guard.findings:
            answer = answer.model_copy(update={"guard": turn.guard.summary()})
        return answer

    # ---- steps ----------------------------------------------------------------------------------

    def _prepare(
        self,
        question: str,
        kbs: list[str] | None,
        conversation_id: str | None,
        filters: SearchFilters | None,
        use_model: bool,
        actor: Actor,
    ) -> _Turn:
        started = time.perf_counter()
        authorize(actor, "qa.ask")
        q = " ".join((question or "").split())
        if not q:
            raise InvalidInput("问题不能为空", code="QUESTION_EMPTY")
        if len(q) > MAX_QUESTION_CHARS:
            raise InvalidInput(
                f"问题过长（上限 {MAX_QUESTION_CHARS} 字），请精简后再问", code="QUESTION_TOO_LONG"
            )
        # The asker's personal data is masked before anything is searched, stored or logged.
        guard = self.knowledge.guard.check_input(q)
        q = guard.text
        history: list[tuple[str, str]] = []
        if conversation_id:
            with self.db.session() as s:
                conv = self._own_conversation(s, conversation_id, actor, continuing=True)
                kbs = kbs or list(conv.kbs or [])
                rows = s.execute(
                    select(Message.question, Message.rewritten)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.seq.desc())
                    .limit(3)
                ).all()
                history = [(r[0], r[1]) for r in reversed(rows)]
        kb_ids = [self.knowledge.kb_id(ref, actor=actor) for ref in kbs] if kbs else self.knowledge.readable_kb_ids(actor)
        turn = _Turn(
            started=started,
            question=q,
            rewritten=q,
            intent=detect_intent(q),
            conversation_id=conversation_id or new_id(),
            new_conversation=conversation_id is None,
            kbs=list(kbs or []),
            message_id=new_id(),
            actor=actor,
            guard=guard,
        )
        if turn.blocked:
            return turn
        # Instructions aimed at a model are not part of the question: what remains is asked as usual.
        asked = strip_injection(q)
        turn.rewritten = self._rewrite(asked, history, use_model) if asked else q
        if asked and kb_ids:
            # Copies stay in: the sentence picker counts the documents that carry a sentence (a notice and its
            # reposts) and cites a repost as a second source.
            turn.result = self.knowledge.search(turn.rewritten, kb_ids, filters=filters, top_k=RETRIEVE, fold_copies=False, actor=actor)
        hits = turn.hits[:EVIDENCE]
        doc_freq = self._doc_freq(kb_ids)
        turn.info = analyze(turn.rewritten, doc_freq)
        dense_coverage = turn.result.dense_coverage if turn.result else 0.0
        turn.extraction = extract(
            turn.info, hits, use_dense=dense_coverage >= MIN_DENSE_COVERAGE, leads=self._leads(hits)
        )
        turn.evidence = assess(turn.info, turn.extraction, hits, dense_coverage)
        turn.faq = faq.match_faq(turn.rewritten, self._faq_entries(hits), doc_freq)
        if turn.result and turn.result.notice:
            turn.notices.append(turn.result.notice)
        return turn

    def _rewrite(self, question: str, history: list[tuple[str, str]], use_model: bool) -> str:
        if not history:
            return question
        previous = history[-1][1] or history[-1][0]
        ruled = rewrite_rules(question, previous)
        if ruled == question or not is_follow_up(question) or not self._model_ready(use_model):
            return ruled
        try:
            messages = generate.build_rewrite_messages(history, question)
            result = self.gateway.chat(self._chat_messages(messages), temperature=0.0, max_tokens=100)  # type: ignore[union-attr]
            return generate.check_rewrite(result.text, question) or ruled
        except HaobanError as err:
            log_event(log, "qa rewrite by model failed", code=err.code)
            return ruled

    def _model_ready(self, use_model: bool) -> bool:
        return bool(use_model and self.gateway is not None and getattr(self.gateway, "available", False))

    @staticmethod
    def _chat_messages(messages: list[dict[str, str]]) -> list[Any]:
        from haoban.llm.models import ChatMessage

        return [ChatMessage(**m) for m in messages]

    def _model_failed(self, turn: _Turn, err: HaobanError) -> None:
        log_event(log, "qa model failed", code=err.code)
        turn.notices.append("大模型暂不可用，已改用政策原文摘录作答")

    def _model_evidence(self, turn: _Turn) -> list[tuple[generate.EvidenceItem, Passage]]:
        """The passages shown to the model: the chosen ones first, then the next best, without overlaps."""
        assert turn.extraction is not None
        chosen = [w.passage for w in turn.extraction.windows]
        ordered = chosen + [p for p in turn.extraction.passages if p not in chosen]
        picked: list[Passage] = []
        for p in ordered:
            c = p.hit.citation
            if any(
                q.hit.citation.document_id == c.document_id
                and min(q.hit.citation.end, c.end) - max(q.hit.citation.start, c.start)
                > 0.5 * (c.end - c.start)
                for q in picked
            ):
                continue
            picked.append(p)
            if len(picked) == MODEL_EVIDENCE:
                break
        out = []
        for n, p in enumerate(picked, 1):
            best = turn.extraction.best_by_passage.get(p.rank)
            source = source_phrase(best) if best else f"《{p.hit.citation.title}》"
            out.append((generate.EvidenceItem(n, source, p.hit.text), p))
        return out

    def _generative(
        self, turn: _Turn, text: str, evidence: list[tuple[generate.EvidenceItem, Passage]]
    ) -> Answer | None:
        check = generate.check_generated(text, [item.text for item, _ in evidence])
        if not check.ok:
            log_event(log, "qa model answer rejected", reason=check.reason)
            turn.notices.append("模型回答未通过引用核验，已改用政策原文摘录作答")
            return None
        assert turn.extraction is not None
        citations = []
        for n in check.cited:
            item, passage = evidence[n - 1]
            best = turn.extraction.best_by_passage.get(passage.rank)
            citations.append(_citation(n, passage, best.spans if best else []))
        citations.sort(key=lambda c: c.n)
        return self._answer(turn, "generative", check.text, citations)

    def _extractive(self, turn: _Turn) -> Answer:
        assert turn.extraction is not None
        windows = turn.extraction.windows
        citations = [_citation(n, w.passage, w.spans) for n, w in enumerate(windows, 1)]
        return self._answer(turn, "extractive", compose(windows), citations)

    def _faq_answer(self, turn: _Turn, match: faq.FaqMatch) -> Answer:
        """The pair's answer as stored (a long one cut at a sentence end), cited as that pair."""
        e = match.entry
        start, end, cut = faq.answer_span(e.answer)
        passage = e.answer[start:end]
        text = f"{passage}[1]" + (f"\n{faq.MORE_TEXT}" if cut else "")
        citation = AnswerCitation(
            n=1, chunk_id=e.chunk_id, document_id=e.document_id, title=e.question, issuer=e.issuer,
            start=start, end=end, passage=passage, highlights=[(0, end - start)],
        )  # fmt: skip
        # The evidence score is calibrated for sentence extraction; a matched pair is at least as sure as its match.
        confidence = max(turn.evidence.confidence if turn.evidence else 0.0, match.score)
        answer = self._answer(turn, "extractive", text, [citation], confidence=confidence)
        answer.faq = FaqSource(document_id=e.document_id, question=e.question, matched=match.phrasing, complete=not cut)
        return answer

    def _refusal(self, turn: _Turn) -> Answer:
        hits = turn.hits
        suggestions = document_suggestions(hits) if hits else self._recent_documents(turn)
        return self._answer(turn, "refusal", REFUSAL_TEXT + HANDOFF_TEXT, [], suggestions=suggestions)

    def _answer(
        self,
        turn: _Turn,
        mode: str,
        text: str,
        citations: list[AnswerCitation],
        suggestions: list[str] | None = None,
        confidence: float | None = None,
    ) -> Answer:
        routing = ROUTING_TEXT.get(turn.intent)
        if routing:
            text = f"{text}\n{routing}"
        cited = {c.chunk_id for c in citations}
        related = related_questions(turn.rewritten, turn.hits, cited) if turn.hits else []
        return Answer(
            conversation_id=turn.conversation_id,
            message_id=turn.message_id,
            question=turn.question,
            rewritten_question=turn.rewritten,
            mode=mode,  # type: ignore[arg-type]
            text=text,
            citations=citations,
            confidence=round(confidence if confidence is not None else turn.evidence.confidence if turn.evidence else 0.0, 4),
            intent=turn.intent,
            related_questions=related,
            suggestions=suggestions or [],
            notice="；".join(dict.fromkeys(turn.notices)) or None,
            took_ms=round((time.perf_counter() - turn.started) * 1000, 2),
        )

    def _save(self, turn: _Turn, answer: Answer) -> None:
        data = answer.model_dump(mode="json")
        for attempt in range(3):
            try:
                with self.db.session() as s:
                    if turn.new_conversation and attempt == 0:
                        s.add(Conversation(id=turn.conversation_id, title=turn.question[:60], kbs=turn.kbs, user_id=turn.actor.user_id))
                        s.flush()
                    conv = s.get(Conversation, turn.conversation_id)
                    if conv is None:
                        raise NotFound("会话不存在或已删除", code="CONVERSATION_NOT_FOUND")
                    seq = (
                        s.scalar(select(func.max(Message.seq)).where(Message.conversation_id == conv.id)) or 0
                    ) + 1
                    s.add(
                        Message(
                            id=turn.message_id,
                            conversation_id=conv.id,
                            seq=seq,
                            question=turn.question,
                            rewritten=turn.rewritten,
                            mode=answer.mode,
                            intent=answer.intent,
                            confidence=answer.confidence,
                            answer=data,
                        )
                    )
                    conv.updated_at = utcnow()
                break
            except IntegrityError:
                if attempt == 2:  # two askers raced for the same turn number three times in a row
                    raise
                turn.new_conversation = False
        log_event(log, "qa answered", mode=answer.mode, confidence=answer.confidence, took_ms=answer.took_ms)
        self.knowledge.audit.record(
            turn.actor, "qa.ask", "conversation", turn.conversation_id, input=turn.question, output=answer.text,
            detail={"mode": answer.mode, "confidence": answer.confidence, "citations": [c.document_id for c in answer.citations],
                    "guard": answer.guard},
        )  # fmt: skip

    # ---- knowledge-base statistics ---------------------------------------------------------------

    def _doc_freq(self, kb_ids: list[str]) -> Callable[[list[str]], tuple[int, dict[str, int]]]:
        """Passage counts and per-word passage frequencies, read from the lexical index segments."""

        def doc_freq(words: list[str]) -> tuple[int, dict[str, int]]:
            n = 0
            df: Counter[str] = Counter()
            for kb_id in kb_ids:
                view = self.knowledge.view(kb_id, with_dense=False)
                for seg in view.segments:
                    scores = seg.bm25.scores
                    n += int(scores["num_docs"])
                    vocab = seg.bm25.vocab_dict
                    indptr = scores["indptr"]
                    for w in words:
                        i = vocab.get(w)
                        if i is not None and i + 1 < len(indptr):
                            df[w] += int(indptr[i + 1] - indptr[i])
            return n, dict(df)

        return doc_freq

    def _faq_entries(self, hits: list[SearchHit]) -> list[faq.FaqEntry]:
        """The question–answer pairs among the hits (read in full: question, similar questions, answer) when
        one is among the top ones; the others are its rivals.

        Only hits the asker may read are here, so a pair in a base they cannot read never answers them."""
        rank: dict[str, int] = {}
        for i, h in enumerate(hits):
            if h.citation.format == "faq":
                rank.setdefault(h.citation.document_id, i)
        if not rank or min(rank.values()) >= faq.FAQ_TOP:
            return []
        with self.db.session() as s:
            docs = s.execute(
                select(Document.id, Document.title, Document.aliases, Document.text, Document.issuer)
                .where(Document.id.in_(list(rank)), Document.format == "faq")
            ).all()
            first_chunk = dict(
                s.execute(
                    select(Chunk.document_id, Chunk.id)
                    .where(Chunk.document_id.in_(list(rank)))
                    .order_by(Chunk.document_id, Chunk.start.desc())
                ).all()
            )  # the last row per document wins: its first chunk
        return [
            faq.FaqEntry(
                document_id=d, chunk_id=first_chunk.get(d, ""), question=title,
                aliases=tuple(a for a in (aliases or "").split("\n") if a), answer=text, issuer=issuer, rank=rank[d],
            )  # fmt: skip
            for d, title, aliases, text, issuer in docs
        ]

    def _leads(self, hits: list[SearchHit]) -> dict[str, str]:
        """For each passage, the heading line right before it in its document (if any)."""
        if not hits:
            return {}
        with self.db.session() as s:
            rows = s.execute(
                select(
                    Chunk.id,
                    func.substr(
                        Document.text,
                        case((Chunk.start > LEAD_CHARS, Chunk.start - LEAD_CHARS + 1), else_=1),
                        case((Chunk.start > LEAD_CHARS, LEAD_CHARS), else_=Chunk.start),
                    ),
                )
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.id.in_([h.chunk_id for h in hits]), Chunk.start > 0)
            ).all()
        return {cid: heading for cid, before in rows if before and (heading := lead_heading(before))}

    def _recent_documents(self, turn: _Turn, count: int = 3) -> list[str]:
        kb_ids = (
            [self.knowledge.kb_id(ref, actor=turn.actor) for ref in turn.kbs] if turn.kbs else self.knowledge.readable_kb_ids(turn.actor)
        )
        if not kb_ids:
            return []
        with self.db.session() as s:
            rows = s.execute(
                select(Document.title, Document.doc_number)
                .where(Document.kb_id.in_(kb_ids), Document.validity == "current")
                .order_by(Document.written_date.desc().nulls_last(), Document.created_at.desc())
                .limit(count)
            ).all()
        return [f"《{t}》" + (f"（{n}）" if n else "") for t, n in rows]

    # ---- conversations and feedback -------------------------------------------------------------

    @staticmethod
    def _own_conversation(s: Any, conversation_id: str, actor: Actor, *, continuing: bool = False) -> Conversation:
        """A user's conversations are theirs (and their department administrators'); a visitor's are reachable
        by id. A signed-in user may not continue a visitor's conversation: their answers, drawn from internal
        bases, would become readable to whoever holds its id."""
        conv = s.get(Conversation, conversation_id)
        if conv is None:
            raise NotFound("会话不存在或已删除", code="CONVERSATION_NOT_FOUND")
        if conv.user_id is None:
            if continuing and actor.authenticated and actor.kind != "system":
                raise Forbidden("这是访客的会话，登录后请新建对话再提问", code="CONVERSATION_NOT_OWNED")
            return conv
        if conv.user_id == actor.user_id or actor.kind == "system":
            return conv
        owner = s.get(User, conv.user_id)
        path = s.get(Department, owner.department_id).path if owner and owner.department_id else None
        if allowed(actor, "user.admin", Resource("conversation", conv.id, department_path=path)):
            return conv
        raise NotFound("会话不存在或已删除", code="CONVERSATION_NOT_FOUND")

    def conversation(self, conversation_id: str, *, actor: Actor = SYSTEM) -> ConversationOut:
        with self.db.session() as s:
            conv = self._own_conversation(s, conversation_id, actor)
            msgs = list(
                s.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.seq))
            )
            latest: dict[str, Feedback] = {}
            if msgs:
                for fb in s.scalars(
                    select(Feedback)
                    .where(Feedback.message_id.in_([m.id for m in msgs]))
                    .order_by(Feedback.created_at, Feedback.id)
                ):
                    latest[fb.message_id] = fb
            return ConversationOut(
                id=conv.id,
                title=conv.title,
                kbs=list(conv.kbs or []),
                created_at=conv.created_at,
                updated_at=conv.updated_at,
                messages=[
                    MessageOut(
                        id=m.id,
                        seq=m.seq,
                        question=m.question,
                        rewritten_question=m.rewritten,
                        mode=m.mode,  # type: ignore[arg-type]
                        intent=m.intent,  # type: ignore[arg-type]
                        answer=Answer.model_validate(m.answer),
                        helpful=latest[m.id].helpful if m.id in latest else None,
                        feedback_comment=latest[m.id].comment if m.id in latest else None,
                        created_at=m.created_at,
                    )
                    for m in msgs
                ],
            )

    def list_conversations(self, limit: int = 50, *, actor: Actor = SYSTEM) -> list[ConversationSummary]:
        """The actor's own conversations (all of them for the local operator; none for visitors)."""
        if not 1 <= limit <= 500:
            raise InvalidInput("limit 须在 1 到 500 之间")
        if actor.user_id is None and actor.kind != "system":
            return []
        mine = Conversation.user_id == actor.user_id if actor.kind != "system" else True
        with self.db.session() as s:
            convs = list(
                s.scalars(
                    select(Conversation)
                    .where(mine)
                    .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
                    .limit(limit)
                )
            )
            ids = [c.id for c in convs]
            counts = (
                dict(
                    s.execute(
                        select(Message.conversation_id, func.count())
                        .where(Message.conversation_id.in_(ids))
                        .group_by(Message.conversation_id)
                    ).all()
                )
                if ids
                else {}
            )
            last_seq = (
                select(Message.conversation_id, func.max(Message.seq).label("seq"))
                .where(Message.conversation_id.in_(ids))
                .group_by(Message.conversation_id)
                .subquery()
            )
            last = (
                dict(
                    s.execute(
                        select(Message.conversation_id, Message.question).join(
                            last_seq,
                            (Message.conversation_id == last_seq.c.conversation_id)
                            & (Message.seq == last_seq.c.seq),
                        )
                    ).all()
                )
                if ids
                else {}
            )
            return [
                ConversationSummary(
                    id=c.id,
                    title=c.title,
                    message_count=counts.get(c.id, 0),
                    last_question=last.get(c.id),
                    created_at=c.created_at,
                    updated_at=c.updated_at,
                )
                for c in convs
            ]

    def delete_conversation(self, conversation_id: str, *, actor: Actor = SYSTEM) -> None:
        with self.db.session() as s:
            self._own_conversation(s, conversation_id, actor)
            s.execute(delete(Conversation).where(Conversation.id == conversation_id))

    def feedback(self, message_id: str, helpful: bool, comment: str = "", *, actor: Actor = SYSTEM) -> None:
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            raise InvalidInput(f"反馈内容过长（上限 {MAX_COMMENT_CHARS} 字）", code="COMMENT_TOO_LONG")
        with self.db.session() as s:
            msg = s.get(Message, message_id)
            if msg is None:
                raise NotFound("回答不存在或已删除", code="MESSAGE_NOT_FOUND")
            try:
                self._own_conversation(s, msg.conversation_id, actor)
            except NotFound:
                raise NotFound("回答不存在或已删除", code="MESSAGE_NOT_FOUND") from None
            s.add(Feedback(message_id=message_id, helpful=bool(helpful), comment=comment))
        log_event(log, "qa feedback", helpful=bool(helpful))


def _citation(n: int, passage: Passage, spans: list[tuple[int, int]]) -> AnswerCitation:
    hit = passage.hit
    c = hit.citation
    return AnswerCitation(
        n=n,
        chunk_id=hit.chunk_id,
        document_id=c.document_id,
        title=c.title,
        doc_number=c.doc_number,
        issuer=c.issuer,
        heading_path=c.heading_path,
        start=c.start,
        end=c.end,
        passage=hit.text,
        highlights=list(spans),
    )
