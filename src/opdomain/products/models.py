"""Tables of data products (数据产品), their released versions (releases) and downloads.

Rules 一.(三) R1.3c (product types), 一.(六) R1.6b (provided only after review), 四.(五) R4.5a (watermark,
trace), 五.(一) R5.1b (traceable), 六.(十) R6.10 (ownership and licence terms on every product).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opdomain.store.db import Base, new_id, utcnow


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("grant_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"))
    name: Mapped[str] = mapped_column(String(200))
    #: data_package | data_model | data_interface | data_service | data_report | business_service
    type: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Release(Base):
    """A released version of a product: the reviewed files, the signed manifest, the recipient."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    version: Mapped[int] = mapped_column(Integer)
    grant_id: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(64))
    #: active | disabled (the grant ended, R3.9d)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    #: the folder under the data directory: the reviewed (unmarked) files, manifest.json, manifest.sig
    folder: Mapped[str] = mapped_column(String(300))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    released_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Download(Base):
    """One watermarked copy handed to one person of the recipient organization."""

    __tablename__ = "downloads"
    __table_args__ = (Index("ix_downloads_release_id", "release_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"))
    file: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(64))
    organization: Mapped[str] = mapped_column(String(64))
    #: the watermark's recipient id, "<organization>/<username>"
    recipient_id: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
