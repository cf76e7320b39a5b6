/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";
import { screenshot } from "@sale_amazon_spapi/../tests/tours/amazon_tour_utils";

// tests/test_tours.py imports two orders of channel "Amazon UK" beforehand.
const ORDER_REF = "202-0000001-1000001";

registry.category("web_tour.tours").add("sale_amazon_spapi_salesman_orders", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open Sales",
            trigger: ".o_app[data-menu-xmlid='sale.sale_menu_root']",
            run: "click",
        },
        {
            content: "Open the Orders menu",
            trigger: ".o_main_navbar .o_menu_sections button:contains(Orders)",
            run: "click",
        },
        {
            content: "Amazon Orders",
            trigger: ".dropdown-item[data-menu-xmlid='sale_amazon_spapi.menu_amazon_orders']",
            run: "click",
        },
        {
            content: "The list shows the Amazon order IDs",
            trigger: `.o_list_view .o_data_row td[name=amazon_order_ref]:contains(${ORDER_REF})`,
        },
        {
            content: "The totals are summed in the company's currency (2 x £12.00 at 0.8 = 30.00)",
            trigger: ".o_list_view tfoot td:contains(30.00)",
        },
        screenshot("amazon_orders", "body:has(.o_list_view tfoot td:contains(30.00))"),
        {
            content: "Open the search options",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Group by channel",
            trigger: ".o_group_by_menu .o_menu_item:contains(Amazon Channel)",
            run: "click",
        },
        {
            content: "One group for the channel, with its two orders",
            trigger: ".o_group_header:contains(Amazon UK):contains((2))",
        },
        {
            content: "Look for one order by its Amazon order ID",
            trigger: ".o_searchview_input",
            run: `edit ${ORDER_REF} && press Enter`,
        },
        {
            content: "The channel's group holds that order only",
            trigger: ".o_group_header:contains(Amazon UK):contains((1))",
            run: "click",
        },
        {
            content: "Open an order",
            trigger: `.o_data_row td[name=amazon_order_ref]:contains(${ORDER_REF})`,
            run: "click",
        },
        {
            content: "No New button: the orders come from Amazon",
            trigger: ".o_form_view .o_control_panel:not(:has(.o_form_button_create)) .o_breadcrumb:contains(Amazon Orders)",
        },
        {
            content: "Open its Amazon tab",
            trigger: ".o_form_view .o_notebook .nav-link:contains(Amazon)",
            run: "click",
        },
        {
            content: "The tab shows the Amazon order",
            trigger: `.o_field_widget[name=amazon_order_ref]:contains(${ORDER_REF})`,
        },
        {
            trigger: ".o_field_widget[name=amazon_marketplace_id]:contains(Amazon.co.uk)",
        },
        {
            trigger: ".o_field_widget[name=amazon_account_id]:contains(Amazon UK)",
        },
        {
            content: "The order links to its page in Seller Central",
            trigger: `.o_field_widget[name=amazon_seller_central_url] a[href*='sellercentral.amazon.co.uk'][href*='${ORDER_REF}']:contains(Open in Seller Central)`,
        },
        screenshot(
            "order_amazon_tab",
            "body:has(.o_notebook .nav-link.active:contains(Amazon))",
            ".o_notebook .tab-content"
        ),
    ],
});
