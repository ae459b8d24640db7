"""Initial transfer files for Adobe Campaign: the export writer in the import's flat-file
format, the part manifest, and uploaders to SFTP (`filedrop.sftp`) and S3 (`filedrop.s3`),
imported from their modules so that only a transfer loads asyncssh or boto3."""

from shared.clients.filedrop.errors import DropRefused, DropUnreachable
from shared.clients.filedrop.manifest import (
    Manifest,
    ManifestFile,
    Part,
    Rejection,
    UploadProgress,
    UploadReport,
)
from shared.clients.filedrop.text_format import ImportFormat, Value, format_value
from shared.clients.filedrop.writer import DEFAULT_PART_SIZE, export, read_part

__all__ = [
    "DEFAULT_PART_SIZE",
    "DropRefused",
    "DropUnreachable",
    "ImportFormat",
    "Manifest",
    "ManifestFile",
    "Part",
    "Rejection",
    "UploadProgress",
    "UploadReport",
    "Value",
    "export",
    "format_value",
    "read_part",
]
