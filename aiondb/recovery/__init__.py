"""Durability below the storage engines: file-system layer, encryption at
rest, write-ahead log, checkpoint files, data-directory metadata, doctor and
upgrade. This package knows records (bytes), files and keys only; it never
imports aiondb.storage or aiondb.sql (storage/durable.py glues them)."""

from aiondb.recovery.doctor import run_doctor, run_upgrade
from aiondb.recovery.walformat import crc_extension_warning

__all__ = ["crc_extension_warning", "run_doctor", "run_upgrade"]
