import { registry } from "@web/core/registry";

/**
 * The guided path during a migration (tests/test_guide_tour.py): the overview names the next
 * action and its button opens it (the full run, in progress); a patient's lead and the
 * patient's appointments in the clinic calendar. With screenshots asked for (CLINIKO_SCREENSHOTS=1 sets
 * window.clinikoScreenshots), each `shot` step asks the test for a screenshot of the page as
 * it is and waits until it is saved: those are the pictures of the Apps page
 * (static/description/index.html).
 */
const tours = registry.category("web_tour.tours");

function shot(name) {
    return {
        trigger: "body",
        content: `Screenshot: ${name}`,
        run: async () => {
            if (!window.clinikoScreenshots) {
                return;
            }
            // let the last rendering settle (calendar layout, avatars)
            await new Promise((resolve) => setTimeout(resolve, 800));
            console.log(`cliniko-screenshot:${name}`);
            for (let wait = 0; wait < 80 && window.clinikoShotDone !== name; wait++) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            if (window.clinikoShotDone !== name) {
                throw new Error(`screenshot ${name} was not saved`);
            }
        },
    };
}

tours.add("cliniko_overview_next_action", {
    steps: () => [
        {
            trigger: ".o_form_view div[name=step_map] .badge:contains('Done')",
            content: "The field map is confirmed",
        },
        {
            trigger: ".o_form_view div[name=step_run] .badge:contains('To Do')",
            content: "The full run is under way",
        },
        {
            trigger: ".o_form_view div[name=step_verify] .badge:contains('Blocked')",
            content: "Verification waits for the run",
        },
        {
            trigger: ".o_form_view .o_form_statusbar button[name=action_overview_next]:contains('Full Migration')",
            content: "The next action is the full run",
        },
        shot("overview"),
        {
            trigger: ".o_form_view .o_form_statusbar button[name=action_overview_next]:contains('Full Migration')",
            content: "Take the next action",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Running')",
            content: "The run in progress",
        },
        {
            trigger: ".o_field_widget[name=resource_ids] .o_data_row .o_progressbar",
            content: "Its progress per resource",
        },
        shot("run"),
    ],
});

tours.add("cliniko_guide_patient", {
    steps: () => [
        {
            trigger: ".o_notebook a.nav-link.active[name=cliniko_patient_overview]",
            content: "The patient's own tab comes first",
        },
        {
            trigger: ".o_notebook .o_field_widget[name=cliniko_date_of_birth]:not(.o_field_empty)",
            content: "Date of birth up front",
        },
        shot("patient"),
        {
            trigger: "button[name=action_schedule_meeting]:contains('Appointment')",
            content: "Open the patient's appointments",
            run: "click",
        },
        {
            trigger: ".o_calendar_renderer .fc-event:not(:contains('Busy'))",
            content: "The patient's appointments, readable",
        },
        shot("calendar"),
    ],
});
