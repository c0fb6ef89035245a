"""The staff roles' groups, each named by what its members do, and the roles' names as msgids: defined here
once, read by the services, the CLI, the console, the codebook and the protocol's escalation chains. The roles
themselves are `models.StaffRole`; an admin acts on every site, the others on their own."""

from __future__ import annotations

from bot.i18n import N_
from models import StaffRole

ROLE_NAMES = {
    StaffRole.CLINICIAN: N_("clinician"),
    StaffRole.PI: N_("principal investigator"),
    StaffRole.COORDINATOR: N_("coordinator"),
    StaffRole.ADMIN: N_("study admin"),
}
ACKNOWLEDGING_ROLES = (StaffRole.CLINICIAN, StaffRole.PI, StaffRole.ADMIN)  # act on alerts
STUDY_DATA_ROLES = (StaffRole.COORDINATOR, StaffRole.ADMIN)  # /status, /export, the study's data
COORDINATING_ROLES = (StaffRole.COORDINATOR, StaffRole.PI)  # a site's coordination notices
SITE_TEAM = (StaffRole.CLINICIAN, StaffRole.PI, StaffRole.COORDINATOR)  # the daily digest, a patient's words
DEATH_NOTICE_ROLES = (StaffRole.PI, StaffRole.ADMIN)  # told of a fatal infection

assert set(ROLE_NAMES) == set(StaffRole), "every role needs a name"
