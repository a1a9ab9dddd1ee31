// What every JS-client test file shares: the live Keydesk's address and superuser from the environment
// (tests/js_client/test_js_client.py sets them), clients of the official @elastic/elasticsearch package, and
// helpers to expect the client's ResponseError.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'

import { Client, errors } from '@elastic/elasticsearch'

function required (name) {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set: run these tests through tests/js_client/test_js_client.py`)
  return value
}

export const URL = required('KEYDESK_URL')
export const USERNAME = required('KEYDESK_USERNAME')
export const PASSWORD = required('KEYDESK_PASSWORD')
export { errors }

const clients = []
after(async () => { await Promise.all(clients.map((client) => client.close())) })

/** A client of the live Keydesk with the given `auth` ({username, password}, {apiKey}, or none at all). */
export function connect (auth) {
  const client = new Client({ node: URL, auth, requestTimeout: 30000, maxRetries: 0 })
  clients.push(client)
  return client
}

/** The reserved superuser, signed in with Basic credentials. */
export const elastic = connect({ username: USERNAME, password: PASSWORD })

export function unique (prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

/** The ResponseError that `promise` rejects with, after checking its status and Elasticsearch error type. */
export async function refused (promise, status, type) {
  const error = await promise.then(
    (answer) => assert.fail(`expected HTTP ${status}, got ${JSON.stringify(answer)}`),
    (error) => error)
  assert.ok(error instanceof errors.ResponseError, `expected a ResponseError, got ${error}`)
  assert.equal(error.statusCode, status, JSON.stringify(error.body))
  assert.equal(error.meta.statusCode, status)
  if (type !== undefined) {
    assert.equal(error.body.error.type, type, JSON.stringify(error.body))
    assert.equal(error.body.status, status)
  }
  return error
}

/** A user with the given roles, and a client signed in as them. */
export async function userWith (roles, prefix = 'user') {
  const username = unique(prefix)
  const password = `${username}-password`
  await elastic.security.putUser({ username, password, roles })
  return { username, password, client: connect({ username, password }) }
}
