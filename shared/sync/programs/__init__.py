"""ProgramEnrolments: enrolment requests from Dynamics -> program enrolments in the platform."""
