"""Words the synthetic catalogue is made of: product families, component areas, UI kinds."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AREAS", "CHANNELS", "CONTEXT", "FAMILIES", "UI_KINDS", "Area", "Family", "UIKind"]

CHANNELS = ("mobile", "web", "counter", "mini-program", "open-api")


@dataclass(frozen=True)
class Family:
    key: str  # also the first segment of the family's core data paths (loan.amount)
    zh: str
    en: str
    owner: str
    channels: tuple[str, ...]  # the channels the family's lines sell on
    lines: tuple[tuple[str, str, str], ...]  # slug, zh, en of line names


FAMILIES: tuple[Family, ...] = (
    Family("deposit", "存款", "Deposits", "retail-deposits", ("mobile", "web", "counter", "mini-program"),
           (("time", "整存整取", "time deposit"), ("notice", "通知存款", "notice deposit"),
            ("cd", "大额存单", "certificate of deposit"), ("smart", "智能存款", "smart deposit"))),
    Family("loan", "个人贷款", "Personal loans", "retail-credit", ("mobile", "web", "mini-program"),
           (("consumer", "消费贷", "consumer loan"), ("salary", "薪金贷", "salary loan"),
            ("auto", "汽车贷", "auto loan"), ("education", "助学贷", "education loan"))),
    Family("card", "信用卡", "Credit cards", "cards", ("mobile", "web", "counter"),
           (("classic", "标准卡", "classic card"), ("travel", "旅行卡", "travel card"),
            ("cobrand", "联名卡", "co-branded card"), ("student", "校园卡", "student card"))),
    Family("wealth", "理财", "Wealth management", "wealth-management", ("mobile", "web", "counter"),
           (("fixed-income", "固收理财", "fixed-income fund"), ("balanced", "混合理财", "balanced fund"),
            ("cash", "现金管理", "cash management"), ("structured", "结构性存款", "structured deposit"))),
    Family("wallet", "电子钱包", "E-wallets", "open-banking", ("open-api", "mobile", "mini-program"),
           (("ewallet", "电子钱包", "e-wallet"), ("scene", "场景账户", "scene account"),
            ("prepaid", "预付卡", "prepaid account"), ("payroll", "代发工资户", "payroll account"))),
    Family("mortgage", "住房贷款", "Mortgages", "mortgage-lending", ("counter", "web", "mobile"),
           (("first-home", "首套房贷", "first-home mortgage"), ("second-home", "二套房贷", "second-home mortgage"),
            ("provident", "组合贷", "provident-fund combination loan"), ("refinance", "转按揭", "refinance"))),
    Family("sme", "小微企业贷款", "Small-business loans", "inclusive-finance", ("mobile", "web", "counter"),
           (("tax", "税易贷", "tax-data loan"), ("invoice", "发票贷", "invoice loan"),
            ("supply", "供应链贷", "supply-chain loan"), ("merchant", "商户贷", "merchant loan"))),
    Family("insurance", "代理保险", "Bancassurance", "bancassurance", ("mobile", "counter", "web"),
           (("life", "寿险", "life cover"), ("health", "健康险", "health cover"),
            ("annuity", "年金险", "annuity"), ("accident", "意外险", "accident cover"))),
    Family("fx", "外汇", "Foreign exchange", "fx-desk", ("mobile", "web", "counter"),
           (("purchase", "购汇", "currency purchase"), ("remit", "汇款", "outward remittance"),
            ("settle", "结汇", "currency settlement"), ("forward", "远期结售汇", "forward")),),
    Family("pension", "养老金融", "Pension finance", "pension-finance", ("mobile", "counter", "mini-program"),
           (("personal", "个人养老金", "personal pension"), ("target", "目标日期", "target-date plan"),
            ("annuity", "养老年金", "pension annuity"), ("savings", "养老储蓄", "pension savings"))),
)


# (path, declaration) supplied by every line's context
CONTEXT: tuple[tuple[str, dict[str, object]], ...] = (
    ("application.id", {"type": "string", "min_length": 8, "max_length": 40}),
    ("customer.id", {"type": "string", "pattern": "^C[0-9]{10}$"}),
    ("applicant.name", {"type": "string", "min_length": 2, "max_length": 64}),
    ("applicant.id_number", {"type": "string", "pattern": "^[1-9][0-9]{16}[0-9X]$"}),
    ("applicant.mobile", {"type": "string", "pattern": "^1[3-9][0-9]{9}$"}),
    ("applicant.age", {"type": "integer", "min": 0, "max": 120}),
    ("applicant.resident", {"type": "boolean"}),
    ("session.device_id", {"type": "string", "min_length": 8, "max_length": 128}),
)


@dataclass(frozen=True)
class Area:
    key: str
    archetype: str  # check | score | action | follower | manual | supervisor | wait | silent
    zh: str
    en: str
    variants: tuple[str, ...]
    output: str = ""  # check: output leaf; score: "score"; action: "reference"
    values: tuple[str, ...] = ()  # check: enum values, the failing one first, the doubtful one second
    errors: tuple[str, ...] = ()
    provides: str | None = None
    shared: bool = False  # also offered as bank-wide components usable by every family


AREAS: tuple[Area, ...] = (
    Area("kyc", "check", "身份核验", "Identity verification",
         ("identity-verification", "id-chip-verify", "face-match", "bank-card-verify", "liveness-check"),
         "status", ("failed", "manual_review", "passed"),
         ("kyc.id-expired", "kyc.id-reported-lost", "kyc.under-age", "kyc.photo-mismatch"),
         provides="identity-verified", shared=True),
    Area("aml", "check", "反洗钱筛查", "AML screening",
         ("sanctions-screening", "pep-screening", "watch-list", "adverse-media"),
         "result", ("hit", "review", "clear"), ("aml.sanctions-hit", "aml.list-unavailable"),
         provides="aml-screened", shared=True),
    Area("fraud", "check", "反欺诈", "Fraud check",
         ("application-fraud", "device-fingerprint", "velocity-check", "mule-account"),
         "risk_level", ("high", "medium", "low"), ("fraud.blacklisted-device", "fraud.velocity-exceeded"),
         shared=True),
    Area("blacklist", "check", "黑名单", "Blacklist check",
         ("court-debtor", "internal-watch", "industry-list"),
         "hit", ("court", "internal", "none"), ("risk.dishonest-debtor",)),
    Area("income", "check", "收入核验", "Income verification",
         ("payroll-check", "tax-record", "provident-fund"),
         "verdict", ("insufficient", "unverified", "verified"), ("income.unverifiable",)),
    Area("bureau", "check", "征信查询", "Credit bureau",
         ("pboc-report", "baihang-report", "consumer-bureau"),
         "standing", ("adverse", "thin", "good"), ("credit.not-authorized", "credit.report-objection")),
    Area("address", "check", "地址核验", "Address check",
         ("residence-check", "utility-match"), "match", ("none", "partial", "exact"), ()),
    Area("suitability", "check", "适当性", "Suitability",
         ("risk-tolerance", "investor-profile", "product-match"),
         "fit", ("unsuitable", "borderline", "suitable"), ("wealth.questionnaire-expired",)),
    Area("collateral", "check", "押品评估", "Collateral",
         ("property-valuation", "vehicle-valuation", "deposit-pledge"),
         "coverage", ("none", "partial", "full"), ("collateral.registry-unavailable",)),
    Area("score", "score", "评分", "Scoring",
         ("application-scorecard", "behaviour-score", "limit-score"), "score", (),
         ("credit.model-unavailable",)),
    Area("core", "action", "核心记账", "Core booking",
         ("account-open", "booking", "issuance", "disbursement", "subscription", "policy-issue", "settlement"),
         "reference", (), ("core.insufficient-funds", "core.account-frozen", "core.customer-restricted")),
    Area("notify", "follower", "通知", "Notification",
         ("sms", "app-push", "email", "wechat-message"), "", (), (), shared=True),
    Area("doc", "follower", "文档", "Documents",
         ("archive", "statement", "e-receipt", "partner-callback"), "", (), ("doc.archive-unavailable",),
         shared=True),
    Area("approval", "manual", "人工审批", "Manual approval",
         ("underwriting", "compliance-review", "credit-committee"), "decision", ("declined", "approved"),
         ("approval.more-information", "approval.out-of-mandate")),
    Area("supervisor", "supervisor", "授权", "Supervisor authorisation",
         ("counter-authorization", "large-amount-review", "exception-approval"), "", (), ()),
    Area("cooling", "wait", "等待", "Waiting period",
         ("cooling-off", "settlement-delay", "hold-period"), "", (), ()),
    Area("record", "silent", "留痕", "Records",
         ("consent-record", "audit-log", "limit-setting", "customer-tagging", "contract-generation"),
         "", (), ("consent.not-given",), shared=True),
)


@dataclass(frozen=True)
class UIKind:
    key: str
    zh: str
    en: str
    channels: tuple[str, ...]  # empty: every channel
    fields: tuple[tuple[str, dict[str, object]], ...]
    level: str  # line: usable on any channel set; product: channel-specific, added per product


_ALL: tuple[str, ...] = ()
UI_KINDS: tuple[UIKind, ...] = (
    UIKind("request", "申请信息", "Application details", _ALL, (), "line"),
    UIKind("consent", "协议确认", "Terms and consent", _ALL,
           (("accepted", {"type": "boolean", "widget": "consent"}),
            ("terms_version", {"type": "string", "min_length": 2, "max_length": 20, "widget": "text"})), "line"),
    UIKind("review", "信息确认", "Review", _ALL,
           (("confirmed", {"type": "boolean", "widget": "checkbox"}),), "line"),
    UIKind("result", "办理结果", "Result", _ALL, (("rating", {"type": "integer", "min": 1, "max": 5,
                                                             "widget": "slider", "required": False}),), "line"),
    UIKind("otp", "短信验证", "One-time code", ("mobile", "web", "mini-program"),
           (("code", {"type": "string", "pattern": "^[0-9]{6}$", "widget": "otp"}),), "product"),
    UIKind("face", "人脸识别", "Face capture", ("mobile", "web", "mini-program"),
           (("image_token", {"type": "string", "min_length": 16, "max_length": 128, "widget": "camera"}),),
           "product"),
    UIKind("idscan", "证件扫描", "ID card scan", ("counter",),
           (("chip_token", {"type": "string", "min_length": 16, "max_length": 128, "widget": "id-scan"}),),
           "product"),
    UIKind("contact", "联系方式", "Contact details", ("mobile", "web", "counter", "mini-program"),
           (("email", {"type": "string", "max_length": 120, "widget": "email", "required": False}),
            ("address", {"type": "string", "min_length": 4, "max_length": 200, "widget": "textarea"})),
           "product"),
    UIKind("signature", "电子签名", "Signature", ("mobile", "web", "counter"),
           (("image_token", {"type": "string", "min_length": 16, "max_length": 128, "widget": "signature"}),),
           "product"),
)
