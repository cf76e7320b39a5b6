/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { screenshot } from "@sale_amazon_spapi/../tests/tours/amazon_tour_utils";

// tests/test_tours.py registers this application at the fake Amazon, whose
// seller A3TOURSELLER01 approves the consent and has two orders to import.
const CLIENT_ID = "amzn1.application-oa2-client.tour0000000000000001";
const CLIENT_SECRET = "amzn1.oa2-cs.v1.tour0secret0000000000000000000001";
const APPLICATION_ID = "amzn1.sp.solution.tour0000-0000-0000-0000-000000000001";
const SELLER_ID = "A3TOURSELLER01";

registry.category("web_tour.tours").add("sale_amazon_spapi_channel_setup", {
    steps: () => [
        {
            content: "Create a channel",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name=name] input",
            run: "edit Amazon UK",
        },
        {
            content: "Sell on Seller Central UK",
            trigger: ".o_field_widget[name=seller_central_domain] select",
            run: 'select "UK"',
        },
        {
            content: "LWA client ID from the Developer Console",
            trigger: ".o_field_widget[name=lwa_client_id] input",
            run: `edit ${CLIENT_ID}`,
        },
        {
            content: "LWA client secret",
            trigger: ".o_field_widget[name=lwa_client_secret] input",
            run: `edit ${CLIENT_SECRET}`,
        },
        {
            content: "Application ID",
            trigger: ".o_field_widget[name=application_id] input",
            run: `edit ${APPLICATION_ID}`,
        },
        ...stepUtils.saveForm(),
        screenshot("channel_not_authorised", "body:has(.o_form_saved div[name=not_authorised])"),
        {
            content: "The channel says it is not authorised yet: authorise it",
            trigger: ".o_form_view div[name=not_authorised] button[name=action_open_authorize_wizard]",
            run: "click",
        },
        {
            content: "The wizard shows the redirect URI to register",
            trigger: ".modal .o_field_widget[name=redirect_uri]:contains(/sale_amazon_spapi/authorize)",
        },
        {
            content: "Open Seller Central (the fake approves and sends us back)",
            trigger: ".modal footer button[name=action_open_consent]",
            run: "click",
        },
        // Checked first: it closes itself after a few seconds.
        {
            content: "Back from Seller Central, a notification says the connection test passed",
            trigger: ".o_notification:has(.o_notification_bar.bg-success):contains(it can import orders now)",
        },
        {
            content: "On the channel, authorised for the seller who consented",
            trigger: `.o_form_view:not(:has(div[name=not_authorised])) .o_field_widget[name=seller_id] input:value(${SELLER_ID})`,
        },
        screenshot(
            "channel_authorised",
            `body:has(.o_form_view .o_field_widget[name=seller_id] input:value(${SELLER_ID}))`
        ),
        {
            content: "The breadcrumb leads back to the channels",
            trigger: ".o_breadcrumb .breadcrumb-item:contains(Amazon Channels)",
        },
        {
            content: "Test the connection",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "Amazon answered",
            trigger: ".modal .alert-success:contains(Connected)",
        },
        {
            content: "Use the seller's marketplaces of the region",
            trigger: ".modal footer button[name=action_set_marketplaces]",
            run: "click",
        },
        {
            content: "Open the Marketplaces page",
            trigger: ".o_form_view:not(:has(.modal)) .o_notebook .nav-link:contains(Marketplaces)",
            run: "click",
        },
        {
            content: "UK and DE are the channel's marketplaces",
            trigger: ".o_field_widget[name=marketplace_ids] .o_tag:contains(Amazon.de)",
        },
        {
            trigger: ".o_field_widget[name=marketplace_ids] .o_tag:contains(Amazon.co.uk)",
        },
        {
            content: "Import the orders now",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_open_import_now]",
            run: "click",
        },
        {
            content: "The first import says which period it covers",
            trigger: ".modal .o_field_widget[name=period_text]:contains(the last 3 days)",
        },
        {
            content: "Import that period",
            trigger: ".modal footer button[name=action_import]",
            run: "click",
        },
        {
            content: "The import says what it did",
            trigger: ".o_notification:contains(2 new order(s))",
        },
        {
            content: "The channel counts its orders: open them",
            trigger: "button[name=action_view_sale_orders]:contains(2)",
            run: "click",
        },
        {
            content: "The imported orders are listed",
            trigger: ".o_list_view .o_data_row:contains(Ada Tour)",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(Brian Tour)",
        },
    ],
});
