"""Small real files for patient attachments (PNG, PDF, plain text), and the generator of
the attachment records that hold them.
"""

import struct
import zlib

from .formats import DEFAULT_NOW, full_name, iso, iso_date


def png_bytes(width, height, rgb):
    """A valid RGB PNG with a simple diagonal pattern."""
    r, g, b = rgb
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            shade = (x + y) * 4 & 0xFF
            row += bytes(((r + shade) & 0xFF, g, (b - shade) & 0xFF))
        rows.append(bytes(row))

    def chunk(tag, data):
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _pdf_text(text):
    text = text.encode("ascii", "replace").decode("ascii")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(title, lines):
    """A minimal valid one-page PDF (Helvetica text) with a correct xref table."""
    ops = ["BT /F1 16 Tf 72 770 Td (%s) Tj /F1 11 Tf" % _pdf_text(title)]
    for line in lines:
        ops.append("0 -18 Td (%s) Tj" % _pdf_text(line))
    ops.append("ET")
    content = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class Files:
    """Patient attachments and their bytes."""

    def attachment(self, patient, t, kind):
        rng = self.rng
        t = min(t, DEFAULT_NOW - 600)
        name = full_name(patient) or "patient"
        ascii_name = name.encode("ascii", "ignore").decode() or "patient"
        if kind == 0:
            data = png_bytes(
                8 + int(rng.random() * 24),
                8 + int(rng.random() * 24),
                (int(rng.random() * 256), int(rng.random() * 256), int(rng.random() * 256)),
            )
            filename, ctype, description = "posture-photo.png", "image/png", "Posture photo"
        elif kind == 1:
            data = pdf_bytes(
                "Referral letter",
                [
                    "Re: %s" % ascii_name,
                    "Date: %s" % iso_date(t),
                    "Please assess and treat. Kind regards, %s" % self.doctors[0]["last_name"],
                ],
            )
            filename, ctype, description = (
                "Referral letter %s.pdf" % iso_date(t),
                "application/pdf",
                "GP referral",
            )
        else:
            data = (
                "Home exercise programme for %s\n\n1. Clamshells 3×10\n2. Bridges 3×12\n"
                "3. Walk 20 min — flat ground\n\nCall us if pain > 5/10.\n" % name
            ).encode("utf-8")
            filename, ctype, description = "home_exercises.txt", "text/plain", None
        record = self.add(
            "patient_attachments",
            t,
            "other",
            updated=t + 5,
            filename=filename,
            content_type=ctype,
            size=len(data),
            description=description,
            processing_completed=True,
            processed_at=iso(t + 5),
            patient_id=patient["id"],
            user_id=self.owner["id"],
        )
        self.clinic.files[record["id"]] = data
        return record
