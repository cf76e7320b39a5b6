/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

// After the Seller Central consent the OAuth callback redirects to the channel's form
// with ?amazon_authorised=ok|check (controllers/main.py). A full page load follows a
// redirect, so a bus message sent by the callback would arrive before the client
// listens: the URL carries the outcome instead, and this service tells it once.

import { _t } from "@web/core/l10n/translation";
import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";

export const AUTHORISED_URL_PARAM = "amazon_authorised";
// Only the callback's own landing: a channel's form through the channels' action.
const LANDING_PATH = /^\/odoo\/action-sale_amazon_spapi\.action_amazon_account\/\d+\/?$/;
const MESSAGES = {
    ok: () => ({
        message: _t("Amazon authorised this channel and the connection test passed: it can import orders now."),
        options: { title: _t("Channel authorised"), type: "success" },
    }),
    check: () => ({
        message: _t("Amazon authorised this channel, but the connection test did not pass: the channel's banner says what to do."),
        options: { title: _t("Channel authorised"), type: "warning", sticky: true },
    }),
};

export const amazonAuthorisedService = {
    dependencies: ["notification"],
    start(env, { notification }) {
        const url = new URL(browser.location.href);
        const outcome = url.searchParams.get(AUTHORISED_URL_PARAM);
        if (!outcome) {
            return;
        }
        // A link crafted elsewhere must not make up an authorisation.
        if (LANDING_PATH.test(url.pathname) && Object.hasOwn(MESSAGES, outcome)) {
            const { message, options } = MESSAGES[outcome]();
            notification.add(message, options);
        }
        // Reloading the page must not tell it again.
        url.searchParams.delete(AUTHORISED_URL_PARAM);
        browser.history.replaceState(browser.history.state, "", url.href);
    },
};

registry.category("services").add("sale_amazon_spapi.authorised", amazonAuthorisedService);
