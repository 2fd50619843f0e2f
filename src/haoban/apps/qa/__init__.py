"""Policy Q&A with citations: extractive answers without a model, grounded generation with one.

from haoban.apps.qa import QAService
qa = QAService(knowledge)                 # or QAService(knowledge, gateway)
answer = qa.ask("居住证多久签注一次？")
answer.text, answer.citations, answer.mode  # "extractive" | "generative" | "refusal"
answer.faq                                # set when the question is an imported 问答对's question (faq.py)
"""

from haoban.apps.qa.intent import detect_intent
from haoban.apps.qa.schemas import (
    Answer,
    AnswerCitation,
    AnswerEvent,
    ConversationOut,
    ConversationSummary,
    FaqSource,
    MessageOut,
)
from haoban.apps.qa.service import QAService

__all__ = [
    "Answer",
    "AnswerCitation",
    "AnswerEvent",
    "ConversationOut",
    "ConversationSummary",
    "FaqSource",
    "MessageOut",
    "QAService",
    "detect_intent",
]
