"""The products the runtime tests run, built as WorkflowDefinitions, and their handlers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from productkit import ir
from productkit.runtime import BusinessError, Handlers, StepCall

from .buildfixture import cond, definition, end, field, label, parallel, param, service, user

SCOPE = {"applicant.age": "integer", "min_age": "integer", "credit.score": "integer",
         "loan.amount": "money", "max_amount": "money", "aml.hit": "boolean"}


def loan(version: str = "1.0.0", *, extra: list[ir.Step] | None = None, **kw: Any) -> ir.WorkflowDefinition:
    """A personal loan: KYC, an application screen, AML and scoring in parallel, a decline
    rule, account opening (compensated by closing it), a notification."""
    steps = [
        service("kyc", "kyc.verify", inputs={"name": "applicant.name"},
                outputs={"status": "kyc.status"}, parameters={"threshold": param("decimal", "0.85")}),
        user("apply", {
            "loan.amount": field("money", currency="CNY", min="1000.00", max="80000.00",
                                 title="Amount"),
            "loan.term_months": field("integer", min="6", max="36", step="6", default=12),
            "loan.purpose": field("enum", values=["car", "home", "study"], required=False),
        }, shows=["annual_rate"]),
        service("aml", "aml.screen", inputs={"name": "applicant.name"}, outputs={"hit": "aml.hit"}),
        service("score", "credit.score", inputs={"age": "applicant.age"},
                outputs={"score": "credit.score"}),
        end("decline", "rejected", when=cond("credit.score < 600", SCOPE), message=label("Declined")),
        service("open", "core.open-loan", inputs={"amount": "loan.amount"},
                outputs={"account": "loan.account"},
                compensation=ir.Compensation(handler="core.close-loan")),
        service("notify", "notify.send", inputs={"account": "loan.account"}),
        *(extra or []),
    ]
    flow: list[str | ir.Parallel] = ["kyc", "apply", parallel(["aml"], ["score"]), "decline", "open",
                                     "notify", *(s.id for s in extra or [])]
    rules = [
        ir.Rule(id="adult", kind="eligibility", condition=cond("applicant.age >= min_age", SCOPE),
                message=label("The applicant must be an adult")),
        ir.Rule(id="within_limit", kind="eligibility",
                condition=cond("loan.amount <= max_amount", SCOPE),
                message=label("The amount is above the product's maximum")),
    ]
    return definition(
        "loan.personal", version, steps, flow,
        context={"applicant.age": field("integer"), "applicant.name": field("string")},
        parameters={"min_age": param("integer", 18),
                    "max_amount": param("money", "50000.00", "CNY"),
                    "annual_rate": param("percent", "4.35")},
        data={"aml.hit": ir.FieldDef(type="boolean"), "credit.score": ir.FieldDef(type="integer")},
        rules=rules, **kw)


START = {"applicant": {"age": 30, "name": "Li Lei"}}
APPLY = {"loan": {"amount": "20000.00", "term_months": 12}}


class Recorder:
    """Handlers that record every call; ``behave[name]`` overrides what one of them does."""

    def __init__(self, score: int = 700) -> None:
        self.calls: list[StepCall] = []
        self.lock = threading.Lock()
        self.handlers = Handlers()
        self.outputs: dict[str, Callable[[StepCall], Mapping[str, object] | None]] = {
            "kyc.verify": lambda c: {"status": "passed"},
            "aml.screen": lambda c: {"hit": False},
            "credit.score": lambda c: {"score": score},
            "core.open-loan": lambda c: {"account": f"LN-{c.application_id[:6]}"},
        }

    def add(self, *names: str) -> Recorder:
        for name in names:
            self.handlers.add(name, self._make(name))
        return self

    def _make(self, name: str) -> Callable[[StepCall], Mapping[str, object] | None]:
        def handler(call: StepCall) -> Mapping[str, object] | None:
            with self.lock:
                self.calls.append(call)
            behave = self.outputs.get(name)
            return behave(call) if behave else None

        return handler

    def names(self) -> list[str]:
        return [c.handler + ("!undo" if c.compensating else "") for c in self.calls]

    def steps(self) -> list[str]:
        return [c.step_id + ("!undo" if c.compensating else "") for c in self.calls]


LOAN_HANDLERS = ("kyc.verify", "aml.screen", "credit.score", "core.open-loan", "core.close-loan",
                 "notify.send")


def loan_recorder(score: int = 700) -> Recorder:
    return Recorder(score).add(*LOAN_HANDLERS)


def fail_with(code: str) -> Callable[[StepCall], Mapping[str, object] | None]:
    def raise_it(call: StepCall) -> Mapping[str, object] | None:
        raise BusinessError(code)

    return raise_it
