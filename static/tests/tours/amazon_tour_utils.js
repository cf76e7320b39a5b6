/** @odoo-module **/
// Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

const SCREENSHOTS_KEY = "sale_amazon_spapi.screenshots";

/**
 * A step saving a screenshot of the page as readme/images/<name>.png, once
 * `trigger` shows, when tests/test_tours.py was asked for screenshots
 * (SALE_AMAZON_SPAPI_SCREENSHOTS); otherwise it only checks `trigger`.
 * `scrollTo` (a selector) is scrolled into view first.
 * The step ends when the test says the PNG is saved (no fixed delay).
 */
export function screenshot(name, trigger, scrollTo = null) {
    return {
        content: `Screenshot ${name}`,
        trigger,
        async run() {
            if (!localStorage.getItem(SCREENSHOTS_KEY)) {
                return;
            }
            if (scrollTo) {
                document.querySelector(scrollTo).scrollIntoView({ block: "center" });
            }
            const saved = () => document.body.dataset.amazonScreenshot === name;
            await new Promise((resolve) => {
                const observer = new MutationObserver(() => {
                    if (saved()) {
                        observer.disconnect();
                        resolve();
                    }
                });
                observer.observe(document.body, { attributes: true });
                console.log(`sale_amazon_spapi screenshot: ${name}`);
            });
        },
    };
}
