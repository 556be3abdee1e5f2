"""Catalog: datasets of provider departments, their graded columns, versions and imports (SPEC §4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opdomain.store.db import Base, new_id, utcnow


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: qualified name "<department code>.<table>", e.g. "amr.enterprise_registry"
    name: Mapped[str] = mapped_column(String(128), unique=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: forbidden to open (禁止开放, R1.1c, R1.6c): never requested or authorized
    forbidden: Mapped[bool] = mapped_column(Boolean, default=False)
    forbidden_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    forbidden_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    primary_key: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    columns: Mapped[list[DatasetColumn]] = relationship(
        back_populates="dataset", order_by="DatasetColumn.position", cascade="all, delete-orphan"
    )


class DatasetColumn(Base):
    __tablename__ = "dataset_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    #: string | integer | number | boolean | date
    type: Mapped[str] = mapped_column(String(16))
    #: classification grade (分级) L1 public … L4 sensitive personal information
    grade: Mapped[str] = mapped_column(String(2))
    identifier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: person | enterprise: this column identifies the table's data subject of that type
    subject: Mapped[str | None] = mapped_column(String(16), nullable=True)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    unique: Mapped[bool] = mapped_column(Boolean, default=False)

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class DatasetVersion(Base):
    """One landed version: an encrypted Parquet file and its wrapped data key (crypto-shredding later)."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    #: path relative to the data directory
    file: Mapped[str] = mapped_column(String(300))
    cipher: Mapped[str] = mapped_column(String(16))  # aes-256-gcm | sm4-gcm
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(300))
    source_sha256: Mapped[str] = mapped_column(String(64))
    descriptor_sha256: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportRun(Base):
    """Every import attempt with its row-level quality report, also the rejected ones."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dataset_name: Mapped[str] = mapped_column(String(128))
    department_code: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    #: running | landed | rejected | failed
    status: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(300))
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_bad: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: JSON: {"issues": [{"row": n, "column": c, "code": ..., "message": ..., "message_en": ...}], "columns": {...}}
    report: Mapped[str] = mapped_column(Text, default="{}")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
