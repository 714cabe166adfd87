import { registry } from "@web/core/registry";

/**
 * The admin's workflow, in the order an admin walks it. Four tours, because the scheduler
 * works on a started run, a verification and a rollback between them (the Python test runs
 * its job).
 *
 * 1. cliniko_workflow_connect: the key of a connection, its test (per-resource counts), the
 *    audit.
 * 2. cliniko_workflow_sample: a sample run, practitioners resolved, the proposed field map
 *    confirmed, the run started (queued for the scheduler).
 * 3. cliniko_workflow_review: progress and the diff render, Verify (it asks first; queued).
 * 4. cliniko_workflow_rollback: the verification's counts, the rollback dialog (queued).
 */
const tours = registry.category("web_tour.tours");

// The key the test's sandbox accepts (tests/test_workflow_tour.py).
const API_KEY = "cliniko-tour-key-au1";

tours.add("cliniko_workflow_connect", {
    steps: () => [
        {
            trigger: ".o_field_widget[name=api_key_status]:contains('not set')",
            content: "A connection without its key yet",
        },
        {
            trigger: ".o_field_widget[name=api_key_input] input",
            content: "Paste the API key",
            run: `edit ${API_KEY}`,
        },
        { trigger: ".o_form_button_save", content: "Save", run: "click" },
        {
            trigger: ".o_form_saved button[name=action_test_connection]",
            content: "Test the connection",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=resource_count_ids] .o_data_row:contains('Patients')",
            content: "Cliniko's count per resource is shown",
        },
        {
            trigger: ".o_field_widget[name=api_key_status]:contains('set'):not(:contains('not'))",
            content: "The key is stored",
        },
        {
            trigger: ".o_field_widget[name=api_key_input] input",
            content: "The key is never shown again",
            run: function () {
                if (this.anchor.value) {
                    throw new Error("the API key is shown after saving");
                }
            },
        },
        {
            trigger: "button[name=action_run_source_audit]",
            content: "Audit the clinic's data",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=finding_ids] .o_data_row",
            content: "The audit lists its findings",
        },
        {
            trigger: "button[name=action_print]",
            content: "The printable checklist is offered",
        },
    ],
});

tours.add("cliniko_workflow_sample", {
    steps: () => [
        {
            trigger: "button[name=action_resolve_practitioners]",
            content: "Read the practitioners and propose their users",
            run: "click",
        },
        { trigger: "a[name=practitioners]", content: "Open the practitioners", run: "click" },
        {
            trigger: ".o_field_widget[name=practitioner_decision_ids] .o_data_row",
            content: "One row per practitioner",
        },
        {
            trigger: "button[name=action_propose_field_map]",
            content: "Propose the field map",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=line_ids] .o_data_row",
            content: "The proposal lists source fields with their targets",
        },
        {
            trigger: "button[name=action_confirm]",
            content: "Confirm the map",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Confirmed')",
        },
        { trigger: ".o_breadcrumb .breadcrumb-item a:contains('(Sample)')", content: "Back to the run", run: "click" },
        {
            trigger: "button[name=action_start]",
            content: "Start: queued for the scheduler",
            run: "click",
        },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Queued')",
            content: "The run waits for the scheduler, not the web request",
        },
    ],
});

tours.add("cliniko_workflow_review", {
    steps: () => [
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains('Done')",
            content: "The scheduler finished the sample",
        },
        {
            trigger: ".o_field_widget[name=resource_ids] .o_data_row .o_progressbar",
            content: "Progress per resource renders",
        },
        {
            trigger: "a[name=sample_diff]",
            content: "Open the field-level diff",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=sample_diff_ids] .o_data_row",
            content: "Source, expected and actual values per field",
        },
        { trigger: "button[name=action_verify]", content: "Verify", run: "click" },
        {
            trigger: ".modal:contains('reads Cliniko again') .modal-footer .btn-primary",
            content: "Verify says what it will do first",
            run: "click",
        },
        {
            trigger:
                "div[name=cliniko_job]:contains('Verification')" +
                ":contains('waiting for the scheduler')",
            content: "The verification is queued for the scheduler",
        },
    ],
});

tours.add("cliniko_workflow_rollback", {
    steps: () => [
        {
            trigger: "a[name=verification]",
            content: "Open the verification",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=verification_resource_ids] .o_data_row",
            content: "Counts reconcile per resource",
        },
        {
            trigger: "button[name=action_open_rollback_wizard]",
            content: "Roll back the sample",
            run: "click",
        },
        {
            trigger: ".modal:contains('queued for the scheduler') button[name=action_confirm]",
            content: "Confirm the rollback",
            run: "click",
        },
        {
            trigger:
                "div[name=cliniko_job]:contains('Rollback'):contains('waiting for the scheduler')",
            content: "The rollback is queued for the scheduler",
        },
    ],
});
