"""Cliniko patient attachments -> ``ir.attachment`` on the patient's lead, checked byte for byte.

One file at a time: the bytes are streamed from Cliniko (``links.content``, which redirects to
the file) into a spooled temporary file, stored through the ORM with the original file name,
mimetype and description, then read back from Odoo's storage and compared with what was
downloaded (SHA-256 and size) and with the size Cliniko announced. A mismatch fails the record
with the reason and the stored attachment is removed (its savepoint is rolled back). The upload
time in Cliniko is kept in ``cliniko_created_at`` since ``create_date`` cannot be set. Images are
kept as they are (``image_no_postprocess`` is in the migration context).

Files are hostile: HTML and SVG are stored as plain text (``attachments_mime_plainxml``: a
browser never renders them from Odoo); a file larger than the connection's cap
(``max_file_size_mb``, 100 MB by default) fails alone with the reason, whether Cliniko announces
the size or the bytes run over it while streaming; a redirect to an unsafe host fails the file
alone too. The bytes go from the download to a temporary file and from there, in chunks, into
Odoo's filestore, so a file is never held in memory whole.

A file still being processed in Cliniko has no bytes yet and is skipped; a file whose patient
was not migrated fails; a file Cliniko no longer serves (404) fails. Any other download error
(key refused, Cliniko unreachable after retries) stops the run, which a new run resumes.
"""

import hashlib
import logging
import os
import shutil
import tempfile

from ..cliniko_api import (
    ClinikoAuthError,
    ClinikoError,
    ClinikoFileTooLargeError,
    ClinikoRateLimitError,
    ClinikoUnsafeRedirectError,
)
from .history import patient_leads, require_patient_lead
from .importer import Importer, MappingError, register
from .values import link_id, parse_datetime, text

_logger = logging.getLogger(__name__)

# Files up to this size stay in memory while downloading; larger ones spill to disk.
SPOOL_MAX_SIZE = 1024 * 1024
CHUNK_SIZE = 64 * 1024
DEFAULT_MAX_FILE_SIZE_MB = 100
GONE_STATUSES = (404, 410)
# Download errors that stop the run rather than fail one file: a refused key, the rate limit.
RUN_ERRORS = (ClinikoAuthError, ClinikoRateLimitError)
UPDATABLE_FIELDS = (
    "name",
    "res_model",
    "res_id",
    "mimetype",
    "description",
    "cliniko_created_at",
    "cliniko_archived_at",
)


def clean_mimetype(value):
    """``text/plain; charset=utf-8`` -> ``text/plain``; empty -> None."""
    value = (text(value) or "").split(";", 1)[0].strip().lower()
    return value or None


def map_attachment(record):
    """The ``ir.attachment`` values of a Cliniko attachment (without the bytes or the lead),
    the download link and the announced size."""
    cliniko_id = str(record.get("id") or "")
    content = record.get("content")
    url = (
        content.get("links", {}).get("self") if isinstance(content, dict) else None
    ) or "/patient_attachments/%s/content" % cliniko_id
    size = record.get("size")
    try:
        size = int(size) if size not in (None, "") else None
    except (TypeError, ValueError):
        size = None
    values = {
        "name": text(record.get("filename")) or "cliniko-attachment-%s" % cliniko_id,
        "type": "binary",
        "res_model": "crm.lead",
        "description": text(record.get("description")) or False,
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_archived_at": parse_datetime(record.get("archived_at")) or False,
    }
    mimetype = clean_mimetype(record.get("content_type"))
    if mimetype:
        values["mimetype"] = mimetype
    return {"attachment": values, "url": url, "size": size}


@register
class PatientAttachmentImporter(Importer):
    resource = "patient_attachments"
    model = "ir.attachment"

    def skip_reason(self, record):
        reason = super().skip_reason(record)
        if not reason and record.get("processing_completed") is False:
            reason = "still being processed in Cliniko: there is no file yet"
        return reason

    def prepare(self, items):
        self._leads = patient_leads(self, [link_id(item.source.get("patient")) for item in items])

    def map(self, item):
        lead = require_patient_lead(self._leads, link_id(item.source.get("patient")))
        values = map_attachment(item.source)
        values["attachment"]["res_id"] = lead.id
        return values

    def _create(self, items):
        # One file at a time, each in its own savepoint: a bad file fails alone, and the
        # download happens outside the savepoint so a dead key or API stops the run instead.
        for item in items:
            self._create_one(item)

    def _max_bytes(self):
        megabytes = self.runner.connection.max_file_size_mb or DEFAULT_MAX_FILE_SIZE_MB
        return megabytes * 1024 * 1024

    def _create_one(self, item):
        max_bytes = self._max_bytes()
        announced = item.values["size"]
        if announced is not None and announced > max_bytes:
            item.done(
                "fail",
                "the file is larger than the %s bytes allowed: Cliniko announces %s bytes"
                % (max_bytes, announced),
            )
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE) as spool:
            try:
                download = self.runner.client.download(
                    item.values["url"], spool, chunk_size=CHUNK_SIZE, max_bytes=max_bytes
                )
            except (ClinikoFileTooLargeError, ClinikoUnsafeRedirectError) as error:
                item.done("fail", str(error))
                return
            except ClinikoError as error:
                if isinstance(error, RUN_ERRORS):
                    raise  # the key or Cliniko itself: the run's problem, not this file's
                if error.status in GONE_STATUSES:
                    item.done("fail", "Cliniko no longer serves the file: %s" % error)
                else:
                    item.done("fail", "the file could not be downloaded: %s" % error)
                return
            spool.seek(0)
            self._guarded(item, lambda: self._store(item, spool, download))

    def create_batch(self, items):
        for item in items:
            self._create_one(item)

    def _store(self, item, spool, download):
        expected = item.values["size"]
        if expected is not None and download["size"] != expected:
            raise MappingError(
                "size mismatch: Cliniko announced %s bytes, %s were downloaded"
                % (expected, download["size"])
            )
        # HTML and SVG from Cliniko are hostile: stored as plain text, never rendered.
        Attachment = self.env["ir.attachment"].with_context(attachments_mime_plainxml=True)
        values = dict(item.values["attachment"], cliniko_sha256=download["sha256"])
        if Attachment._storage() == "file":
            attachment = Attachment.create(values)
            self._stream_to_filestore(attachment, spool)
        else:
            attachment = Attachment.create(dict(values, raw=spool.read()))
        self.env.flush_all()
        stored = self._stored_digest(attachment)
        if stored != (download["sha256"], download["size"]):
            raise MappingError(
                "checksum mismatch: downloaded %s bytes (sha256 %s), Odoo stored %s bytes "
                "(sha256 %s)" % (download["size"], download["sha256"], stored[1], stored[0])
            )
        item.target = attachment
        item.audit("create", attachment)

    @staticmethod
    def _stream_to_filestore(attachment, spool):
        """Copy ``spool`` into Odoo's filestore in chunks (what ``raw=`` would do with the
        whole file in memory) and point ``attachment`` at it: checksum, size, file name."""
        Attachment = attachment.browse()
        sha1 = hashlib.sha1()  # noqa: S324 - Odoo's filestore names files by SHA-1
        size = 0
        spool.seek(0)
        directory = Attachment._full_path("cliniko_tmp")
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, delete=False) as target:
            try:
                while chunk := spool.read(CHUNK_SIZE):
                    sha1.update(chunk)
                    size += len(chunk)
                    target.write(chunk)
            except BaseException:
                os.unlink(target.name)
                raise
        checksum = sha1.hexdigest()
        fname = "%s/%s" % (checksum[:2], checksum)
        full_path = Attachment._full_path(fname)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        if os.path.exists(full_path):
            os.unlink(target.name)
        else:
            shutil.move(target.name, full_path)
            # Collected by the filestore GC if the transaction is rolled back.
            Attachment._mark_for_gc(fname)
        # store_fname, checksum and file_size are dropped from create()/write() values.
        attachment.env.cr.execute(
            "UPDATE ir_attachment SET store_fname = %s, checksum = %s, file_size = %s, "
            "db_datas = NULL WHERE id = %s",
            (fname, checksum, size, attachment.id),
        )
        attachment.invalidate_recordset(["store_fname", "checksum", "file_size", "db_datas"])

    @staticmethod
    def _stored_digest(attachment):
        """SHA-256 and size of the bytes as Odoo reads them back from its storage, read in
        chunks from the filestore (whole only when the database stores them)."""
        attachment.invalidate_recordset(["raw", "datas", "db_datas", "store_fname"])
        digest, size = hashlib.sha256(), 0
        if attachment.store_fname:
            with open(attachment._full_path(attachment.store_fname), "rb") as stored:
                while chunk := stored.read(CHUNK_SIZE):
                    digest.update(chunk)
                    size += len(chunk)
        else:
            data = attachment.raw or b""
            digest.update(data)
            size = len(data)
        attachment.invalidate_recordset(["raw", "datas", "db_datas"])
        return digest.hexdigest(), size

    def update_one(self, item, attachment):
        wanted = {
            name: value
            for name, value in item.values["attachment"].items()
            if name in UPDATABLE_FIELDS
        }
        return self.write_changes(item, attachment, wanted)
