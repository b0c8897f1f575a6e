// Usage: node render_spz.mjs PAGE_URL OUT_PNG — opens the Spark page in headless Chromium,
// waits until the SPZ is loaded, renders a few frames and saves a screenshot.
import { chromium } from "playwright-core";

const [pageUrl, outPng] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
});
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 400 } });
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.goto(pageUrl);
  await page.waitForFunction(
    () => !document.getElementById("status").textContent.startsWith("loading"),
    null, { timeout: 120000 });
  await page.waitForTimeout(4000);
  await page.locator("canvas").screenshot({ path: outPng, timeout: 120000 });
  console.log("status:", await page.textContent("#status"));
} finally {
  await browser.close();
}
