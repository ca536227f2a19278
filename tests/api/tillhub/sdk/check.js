// Drives Hookline's /api/v0 with Tillhub's unmodified JavaScript SDK (@tillhub/javascript-sdk 4.x)
// as an integrator would, and prints what it saw as one JSON object on stdout.
// Usage: node check.js <base URL> <username> <password> <receiver URL>
// Run by tests/api/tillhub/test_sdk.py, which installs the SDK into a folder of its own.

const sdk = require('@tillhub/javascript-sdk')

const [base, username, password, receiverUrl] = process.argv.slice(2)
const TillhubClient = sdk.TillhubClient || (sdk.default && sdk.default.TillhubClient)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main () {
  const seen = {}
  const th = new TillhubClient()
  th.init({ base })
  const login = await th.auth.loginUsername({ username, password })
  seen.user = login.user

  const webhooks = th.webhooks()
  const created = []
  for (let n = 0; n < 5; n++) {
    const response = await webhooks.create({
      url: receiverUrl,
      eventList: ['products.create.v0', 'customers:update:v0'],
      description: `sdk hook ${n}`
    })
    created.push(response.data)
  }
  seen.created = created[0]

  // every page by following next(), which requests cursors.after as it is
  const pages = []
  let page = await webhooks.getAll({ limit: 2 })
  pages.push(page.data.map((webhook) => webhook.id))
  for (let n = 0; page.next && n < 10; n++) {
    page = await page.next()
    pages.push(page.data.map((webhook) => webhook.id))
  }
  seen.pages = pages

  const hook = created[0]
  const put = await webhooks.put(hook.id, { description: 'changed by the SDK', maxInFlight: null })
  seen.put = put.data
  seen.fetched = (await webhooks.get(hook.id)).data
  seen.secret = (await webhooks.regenerateSecret(hook.id)).data.secret

  // test events through the SDK's own HTTP client (not every 4.x release has a method for it)
  const events = th.webhookEvents()
  const testUri = events.uriHelper.generateBaseUri(`/${hook.id}/test`)
  const sent = await th.http.getClient().post(testUri, { events: ['products.create.v0', 'customers.update.v0'] })
  seen.testStatus = sent.status
  seen.testEvents = sent.data.results.map((event) => event.id)

  // wait (bounded) until both were delivered
  let listed = null
  for (let n = 0; n < 100; n++) {
    listed = await events.getAll(hook.id, { returnRetries: true, limit: 1, eventType: ['create', 'update'] })
    const all = [...listed.data]
    let next = listed.next
    for (let m = 0; next && m < 10; m++) {
      const more = await next()
      all.push(...more.data)
      next = more.next
    }
    if (all.length === 2 && all.every((event) => event.sentSuccessfully === true)) {
      seen.listedEvents = all
      break
    }
    await sleep(200)
  }
  seen.oneEvent = (await events.get(hook.id, seen.testEvents[0])).data
  seen.replayAll = (await events.replay(hook.id)).data
  seen.replayOne = (await events.replay(hook.id, { eventId: [seen.testEvents[0]] })).data

  if (typeof th.supportedEvents === 'function') {
    const supported = await th.supportedEvents().getAll()
    seen.supportedEvents = (supported.data || []).map((event) => event.event)
  }

  for (const webhook of created) {
    await webhooks.delete(webhook.id)
  }
  seen.afterDelete = (await webhooks.getAll()).data.length
  process.stdout.write(JSON.stringify(seen))
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n${error.stack}\n`)
  process.exit(1)
})
