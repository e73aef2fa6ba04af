"""Settings for every recouvre process, read once from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _encryption_by_default(fields: dict[str, Any]) -> bool:
    """Payload encryption is on when keys are configured, or when `recouvre run` starts
    the dev server itself (no TEMPORAL_ADDRESS): the runner hands the resolved value to
    its worker processes, so the API and the workers always agree. Off otherwise (tests
    and deployments that configure neither), so clients built without the codec can
    still read what others write."""
    return bool(str(fields.get("payload_keys", "")).strip()) or not fields.get("temporal_address")


class Settings(BaseSettings):
    """All knobs of the service. Empty values mean "use the embedded default"."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    var_dir: Path = Field(default=Path("var"), alias="RECOUVRE_VAR_DIR")
    database_url: str = Field(default="", alias="DATABASE_URL")
    temporal_address: str = Field(default="", alias="TEMPORAL_ADDRESS")
    temporal_port: int = Field(default=7233, alias="TEMPORAL_PORT")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default="recouvre-cases", alias="TEMPORAL_TASK_QUEUE")
    temporal_ui_port: int = Field(default=8233, alias="TEMPORAL_UI_PORT")
    api_host: str = Field(default="127.0.0.1", alias="API_HOST")
    api_port: int = Field(default=8000, alias="API_PORT")
    api_keys: str = Field(default="", alias="RECOUVRE_API_KEYS")
    tenant_policies: str = Field(
        default="",
        alias="RECOUVRE_TENANT_POLICIES",
        description="A creditor's default policy per debtor kind: tenant:kind=policy,...",
    )
    tenant_sirens: str = Field(
        default="",
        alias="RECOUVRE_TENANT_SIRENS",
        description="Each creditor's SIREN, tenant:siren,...: an e-invoice's seller (BT-30) "
        "must be it; a tenant without one is not checked",
    )
    smtp_host: str = Field(default="", alias="SMTP_HOST")
    smtp_port: int = Field(default=8025, alias="SMTP_PORT")
    smtp_username: str = Field(default="", alias="SMTP_USERNAME")
    smtp_password: str = Field(default="", alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, alias="SMTP_STARTTLS")
    smtp_from: str = Field(default="recouvrement@recouvre.example", alias="SMTP_FROM")
    creditor_name: str = Field(default="Démo Créancier SAS", alias="CREDITOR_NAME")
    creditor_address: str = Field(
        default="1 place de la Bourse\n75002 Paris", alias="CREDITOR_ADDRESS"
    )
    payment_instructions: str = Field(
        default="par virement sur l'IBAN FR76 3000 6000 0112 3456 7890 189 (BIC AGRIFRPP)",
        alias="PAYMENT_INSTRUCTIONS",
    )
    payment_link: str = Field(
        default="",
        alias="PAYMENT_LINK",
        description="Payment page pattern with {invoice_number}, {amount}, {case_id}",
    )
    registered_mail_sandbox_port: int = Field(default=8092, alias="REGISTERED_MAIL_SANDBOX_PORT")
    run_projector: bool = Field(default=True, alias="RECOUVRE_RUN_PROJECTOR")
    workers: int = Field(
        default=0,
        ge=0,
        le=32,
        alias="RECOUVRE_WORKERS",
        description="Worker processes `recouvre run` starts; 0: one per core beyond the API's",
    )
    temporal_rpc_timeout_s: float = Field(default=5.0, alias="TEMPORAL_RPC_TIMEOUT_S")
    background_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        alias="RECOUVRE_BACKGROUND_NICE",
        description="Niceness the worker and projector processes add to their own (0: "
        "none), so the API keeps the CPU it needs on a saturated machine",
    )
    demo_case: bool = Field(
        default=True,
        alias="RECOUVRE_DEMO_CASE",
        description="`recouvre run` registers today's demo invoice (policy demo, invoice "
        "DEMO-<date>) so that the console has a case to work at once",
    )
    retention_margin_days: int = Field(
        default=365,
        ge=0,
        le=3650,
        alias="RECOUVRE_RETENTION_MARGIN_DAYS",
        description="Days a debtor's data is kept after its last closed case's prescription "
        "date (projections/retention.py); then it is erased",
    )
    retention_sweep_s: float = Field(
        default=86_400,
        ge=0,
        alias="RECOUVRE_RETENTION_SWEEP_S",
        description="How often the API erases debtors whose retention has ended (0: never)",
    )
    read_your_writes_wait_s: float = Field(
        default=2.0,
        ge=0,
        le=30,
        alias="RECOUVRE_READ_YOUR_WRITES_WAIT_S",
        description="How long GET /v1/cases/{id}?after_position=N waits for the read model "
        "to reach N before answering with the view it has (marked caught_up=false)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        alias="RECOUVRE_LOG_FORMAT",
        description="text: readable lines (make run); json: one JSON object per line",
    )
    worker_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65534,
        alias="RECOUVRE_WORKER_METRICS_PORT",
        description="Prometheus port of a worker process (its Temporal SDK metrics on the "
        "next port); 0: disabled",
    )
    worker_metrics_host: str = Field(default="127.0.0.1", alias="RECOUVRE_WORKER_METRICS_HOST")
    metrics_db_timeout_s: float = Field(
        default=2.0,
        gt=0,
        alias="RECOUVRE_METRICS_DB_TIMEOUT_S",
        description="How long GET /metrics may query the database (projection lag)",
    )
    payload_keys: str = Field(
        default="",
        alias="RECOUVRE_PAYLOAD_KEYS",
        description="Keys encrypting every Temporal payload: id:base64key (32 bytes, "
        "AES-256-GCM), comma-separated; the first (or RECOUVRE_PAYLOAD_KEY_ID) encrypts, "
        "every one decrypts (rotation: docs/data-protection.md). Empty: a development key "
        "generated once into var/payload-keys; production must set it",
    )
    payload_key_id: str = Field(
        default="",
        alias="RECOUVRE_PAYLOAD_KEY_ID",
        description="Which of RECOUVRE_PAYLOAD_KEYS encrypts new payloads; empty: the first",
    )
    payload_encryption: bool = Field(
        default_factory=_encryption_by_default,
        alias="RECOUVRE_PAYLOAD_ENCRYPTION",
        description="Encrypt every Temporal payload (API, workers and replays alike); "
        "default: on when RECOUVRE_PAYLOAD_KEYS is set or Temporal is the embedded dev "
        "server (make run), off otherwise",
    )
    data_keys: str = Field(
        default="",
        alias="RECOUVRE_DATA_KEYS",
        description="Master keys wrapping each debtor's data key: id:base64key (32 bytes), "
        "comma-separated; the first (or RECOUVRE_DATA_KEY_ID) wraps new keys, every one "
        "unwraps (rotation: `recouvre debtors rewrap`, docs/data-protection.md). Empty: a "
        "development key generated once into var/data-keys; production must set it",
    )
    data_key_id: str = Field(
        default="",
        alias="RECOUVRE_DATA_KEY_ID",
        description="Which of RECOUVRE_DATA_KEYS wraps new data keys; empty: the first",
    )
    debtor_index_key: str = Field(
        default="",
        alias="RECOUVRE_DEBTOR_INDEX_KEY",
        description="Base64 32-byte key of the keyed hash that finds a debtor by its "
        "identifier (SIREN, VAT, customer id, email) without decrypting; not rotated (a new "
        "one needs a reindex). Empty: generated once into var/debtor-index-key",
    )
    codec_cors_origins: str = Field(
        default="",
        alias="RECOUVRE_CODEC_CORS_ORIGINS",
        description="Browser origins (the Temporal UI) allowed to call the codec endpoint "
        "/v1/codec, comma-separated; empty: the embedded UI's, http://127.0.0.1:<UI port> "
        "and http://localhost:<UI port>",
    )
    # --- the other sides of the conversation (#15): ERP webhooks, portal, payment, BODACC ---
    webhook_dispatch_s: float = Field(
        default=1.0,
        ge=0,
        alias="RECOUVRE_WEBHOOK_DISPATCH_S",
        description="How often the API turns new case events into webhook deliveries and "
        "sends the due ones (0: never, no webhook is sent)",
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        alias="RECOUVRE_WEBHOOK_TIMEOUT_S",
        description="How long a subscriber's endpoint has to answer one delivery",
    )
    webhook_first_retry_s: float = Field(
        default=60.0,
        gt=0,
        alias="RECOUVRE_WEBHOOK_FIRST_RETRY_S",
        description="Wait before the first retry of a failed delivery; each next wait doubles",
    )
    webhook_max_retry_s: float = Field(
        default=86_400.0,
        gt=0,
        alias="RECOUVRE_WEBHOOK_MAX_RETRY_S",
        description="Longest wait between two attempts of one delivery",
    )
    webhook_retry_period_s: float = Field(
        default=259_200.0,
        gt=0,
        alias="RECOUVRE_WEBHOOK_RETRY_PERIOD_S",
        description="How long a delivery is retried before it is abandoned (default 3 "
        "days); a manual replay makes it pending again",
    )
    webhook_private_targets: bool = Field(
        default=False,
        alias="RECOUVRE_WEBHOOK_PRIVATE_TARGETS",
        description="Let webhook subscriptions name private-network or loopback addresses "
        "(development, tests, `make run`); off: such deliveries are refused and logged",
    )
    portal_secret: str = Field(
        default="",
        alias="RECOUVRE_PORTAL_SECRET",
        description="Key signing the debtor portal's links (HMAC-SHA256); empty: generated "
        "once into var/portal-secret",
    )
    portal_base_url: str = Field(
        default="",
        alias="RECOUVRE_PORTAL_BASE_URL",
        description="Public address of the API serving the portal (https://pay.example.fr); "
        "empty: no portal link in emails and letters (PAYMENT_LINK if set)",
    )
    portal_link_days: int = Field(
        default=90,
        ge=1,
        le=730,
        alias="RECOUVRE_PORTAL_LINK_DAYS",
        description="Days a portal link stays valid after it was sent",
    )
    stripe_keys: str = Field(
        default="",
        alias="RECOUVRE_STRIPE_KEYS",
        description="Each tenant's Stripe keys, tenant=secret_key|webhook_secret,...; a "
        "tenant without one is offered transfer instructions only",
    )
    stripe_api_base: str = Field(
        default="",
        alias="RECOUVRE_STRIPE_API_BASE",
        description="Stripe's API address; empty: Stripe's own (tests: stripe-mock's)",
    )
    bodacc_url: str = Field(
        default="https://bodacc-datadila.opendatasoft.com",
        alias="RECOUVRE_BODACC_URL",
        description="The BODACC open-data API (opendatasoft explore v2.1) the insolvency "
        "watch reads; `recouvre run` points it at its local sandbox",
    )
    bodacc_check_s: float = Field(
        default=86_400.0,
        ge=0,
        alias="RECOUVRE_BODACC_CHECK_S",
        description="How often the insolvency watch checks every open debtor's SIREN "
        "against BODACC (0: never)",
    )

    @property
    def embedded_temporal(self) -> bool:
        """True when no Temporal address is configured: `recouvre run` starts a dev server."""
        return not self.temporal_address

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def embedded_smtp(self) -> bool:
        """True when no relay is configured: recouvre runs its own mailbox server."""
        return not self.smtp_host

    @property
    def codec_origins(self) -> list[str]:
        """The origins whose browsers may call the codec endpoint (CORS)."""
        listed = [o.strip().rstrip("/") for o in self.codec_cors_origins.split(",")]
        if any(listed):
            return [o for o in listed if o]
        port = self.temporal_ui_port
        return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def smtp_target(self) -> tuple[str, int]:
        return (self.smtp_host or "127.0.0.1", self.smtp_port)
