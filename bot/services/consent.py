"""Consent in Telegram: the consent screen (shown at onboarding, and again when the protocol names a new consent
version), and renewing consent.

When the protocol's `enrollment.consent_version` differs from the version an active patient agreed to, consent is
pending: the next contact (a check-in or dose reminder, /checkin, a check-in or dose answer) shows the consent
screen instead, and nothing more is collected until the patient agrees. The red-flag path never waits for it:
/report, the "I feel unwell now" button and words that mean danger still bring the urgent advice and the alert.
Declining the new version is a withdrawal of consent (as /stop "Leave the study").
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Button, Consent, Rows, rows_payload
from bot.delivery.outbox import enqueue
from bot.i18n import N_, Gettext, gettext_for
from bot.protocol import StudyProtocol
from bot.services.audit import audited, record_event
from bot.services.deviations import RECONSENT_ASKED
from bot.services.patient_status import WithdrawalKind, withdraw_telling_coordinators
from bot.services.reachability import send_open_contacts_now
from bot.services.safety import emergency_line
from models import AuditEvent, Patient, PatientStatus, Site

CONSENT_CHANGED = N_(
    "The consent text of this study has changed. Please read it again and tell us if you still agree. Until "
    "you answer, I will not ask you the monthly questions."
)
RECONSENT_DECLINED_NOTICE = N_(
    "{study_id} did not agree to the new consent text (version {version}) in Telegram: consent is withdrawn, "
    "no more data may be collected."
)


def consent_pending(patient: Patient, protocol: StudyProtocol) -> bool:
    """An active patient agreed to another version than the protocol's current one (a consent recorded before
    versions were stored is not asked again automatically)."""
    return (
        patient.status is PatientStatus.ACTIVE
        and patient.consent_version is not None
        and patient.consent_version != protocol.enrollment.consent_version
    )


def consent_text(_: Gettext, *, patient: Patient, site: Site, protocol: StudyProtocol, changed: bool) -> str:
    """The consent screen; `changed` puts the short note that the text has changed first."""
    study = protocol.study.title.for_language(patient.language)
    parts = [_(CONSENT_CHANGED)] if changed else []
    parts += [
        _("Hello! This is the follow-up for the study “{study}” at {site}.").format(study=study, site=site.name),
        _(
            "Once a month I will ask you a few short questions about fever, infections and your medicines. "
            "It takes about two minutes, and most answers are one tap."
        ),
        _(
            "Your answers go to your study doctors. Your name and phone number are not stored here. "
            "You can stop at any time with /stop."
        ),
        _(
            "This bot does not replace your doctor. If you feel very unwell, do not wait for the bot: "
            "go to the emergency department or call your study team."
        )
        + "\n"
        + emergency_line(_, site=site, protocol=protocol),
        _("Do you agree to answer the study questions here in Telegram?"),
    ]
    return "\n\n".join(parts)


def consent_buttons(_: Gettext) -> Rows:
    """The two buttons of the consent screen."""
    return [[Button(_("I agree"), Consent(agree=True))], [Button(_("I do not agree"), Consent(agree=False))]]


async def note_asked_again(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, now: datetime) -> None:
    """Audit the first time a patient is asked to consent to this version (the deviations export dates the
    pending consent from it). The caller commits."""
    version = protocol.enrollment.consent_version
    asked = await session.scalars(
        select(AuditEvent.after).where(AuditEvent.action == RECONSENT_ASKED, AuditEvent.entity_id == str(patient.id))
    )
    if any(after and after.get("version") == version for after in asked):
        return
    record_event(
        session,
        actor="system",
        action=RECONSENT_ASKED,
        entity=patient,
        at=now,
        before={"consent_version": patient.consent_version},
        after={"version": version},
    )


async def pending_here(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, now: datetime) -> bool:
    """The patient wrote while consent to a new version is pending: True if so (the adapter shows the consent
    screen), with the first asking audited. Commits."""
    if not consent_pending(patient, protocol):
        return False
    await note_asked_again(session, patient=patient, protocol=protocol, now=now)
    await session.commit()
    return True


async def ask_again(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, now: datetime) -> None:
    """A contact is due while consent is pending: the consent screen goes out instead (at most once a day).
    The caller commits."""
    assert patient.telegram_chat_id is not None
    _ = gettext_for(patient.language)
    site = await session.get_one(Site, patient.site_id)
    await note_asked_again(session, patient=patient, protocol=protocol, now=now)
    await enqueue(
        session,
        dedupe_key=f"reconsent:{patient.id}:{protocol.enrollment.consent_version}:{now.date().isoformat()}",
        chat_id=patient.telegram_chat_id,
        patient_id=patient.id,
        now=now,
        payload={
            "text": consent_text(_, patient=patient, site=site, protocol=protocol, changed=True),
            "buttons": rows_payload(consent_buttons(_)),
        },
    )


async def renew_consent(
    session: AsyncSession, *, patient: Patient, agree: bool, shown_text: str, protocol: StudyProtocol, now: datetime
) -> bool:
    """The answer to the consent screen of a new version. Agreeing stores the version, the language and a hash
    of the text shown (audited, with the time) and lets what is due go out again; declining withdraws consent
    and tells the site's coordinators. False if nothing was pending (a stale tap). Commits."""
    if not consent_pending(patient, protocol):
        return False
    version = protocol.enrollment.consent_version
    actor = f"patient:{patient.study_id}"
    if agree:
        with audited(session, entity=patient, actor=actor, action="patient.reconsent", at=now):
            patient.consent_version, patient.consent_language = version, patient.language
            patient.consent_text_sha256 = hashlib.sha256(shown_text.encode()).hexdigest()
        await send_open_contacts_now(session, patient=patient, now=now)
    else:
        await withdraw_telling_coordinators(
            session,
            patient=patient,
            kind=WithdrawalKind.WITHDRAW_CONSENT,
            note=f"did not agree to consent version {version} in Telegram",
            key=f"reconsent-declined:{patient.id}:{version}",
            notice=RECONSENT_DECLINED_NOTICE,
            now=now,
            notice_fields={"version": version},
        )
    await session.commit()
    return True
