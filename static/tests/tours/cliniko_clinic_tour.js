import { registry } from "@web/core/registry";

/**
 * The front desk on a patient's lead (tests/test_clinic_ui.py, TestPatientTour): the first tab
 * says who the patient is, and the meeting button opens the patient's appointments in the
 * clinic calendar, readable (not "Busy") and on the right dates.
 */
registry.category("web_tour.tours").add("cliniko_clinic_patient", {
    steps: () => [
        {
            trigger: ".o_notebook a.nav-link.active[name=cliniko_patient_overview]",
            content: "The patient's own tab comes first and is open",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=cliniko_date_of_birth]:not(.o_field_empty)",
            content: "Date of birth up front",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=city]",
            content: "The full address up front",
        },
        {
            trigger: "button[name=action_schedule_meeting]:contains('Appointment')",
            content: "Open the patient's appointments",
            run: "click",
        },
        {
            trigger: ".o_calendar_renderer .fc-event:not(:contains('Busy'))",
            content: "The patient's appointments, readable, where they are",
        },
    ],
});
