// Refusals through the official JavaScript client: each a ResponseError carrying Elasticsearch's status and
// error type.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { connect, elastic, errors, PASSWORD, refused, USERNAME, userWith } from './keydesk.mjs'

const MISSING_ID = 'AAAAAAAAAAAAAAAAAAAA'

test('a missing key is a 404', async () => {
  const error = await refused(elastic.security.getApiKey({ id: MISSING_ID }), 404)
  assert.deepEqual(error.body, { api_keys: [] })
  const update = await refused(elastic.security.updateApiKey({ id: MISSING_ID, metadata: {} }), 404,
    'resource_not_found_exception')
  assert.equal(update.body.error.reason, `no API key owned by requesting user found for ID [${MISSING_ID}]`)
})

test('a bad body is a 400', async () => {
  const role = await refused(elastic.security.putRole({ name: 'js-bad', cluster: ['launch_rockets'] }), 400,
    'action_request_validation_exception')
  assert.match(role.body.error.reason, /unknown cluster privilege \[launch_rockets\]/)
  const expiration = await refused(elastic.security.createApiKey({ name: 'js-bad', expiration: 'soon' }), 400,
    'parse_exception')
  assert.equal(expiration.body.error.reason,
    'failed to parse setting [expiration] with value [soon] as a time value: unit is missing or unrecognized')
  const unknown = await refused(elastic.security.queryApiKeys({ query: { bogus: {} } }), 400, 'parsing_exception')
  assert.equal(unknown.body.error.reason, 'unknown query [bogus]')
  const query = await refused(elastic.security.queryApiKeys({ query: { regexp: { name: 'a.*' } } }), 400,
    'illegal_argument_exception')
  assert.equal(query.body.error.reason, 'Query type [regexp] is not currently supported in this context')
  const raw = { method: 'POST', path: '/_security/api_key', body: '{"name": ' }
  const truncated = await refused(elastic.transport.request(raw, { headers: { 'content-type': 'application/json' } }),
    400, 'x_content_parse_exception')
  assert.equal(truncated.body.error.root_cause[0].type, 'x_content_parse_exception')
  // A string body goes out as text/plain, which Elasticsearch refuses before reading it.
  await refused(elastic.transport.request(raw), 406, 'media_type_header_exception')
})

test('bad credentials are a 401 offering Basic and ApiKey', async () => {
  const wrong = await refused(connect({ username: USERNAME, password: `not-${PASSWORD}` }).security.authenticate(),
    401, 'security_exception')
  assert.equal(wrong.body.error.additional_unsuccessful_credentials, 'basic: unable to authenticate user [elastic]')
  assert.match(String(wrong.meta.headers['www-authenticate']), /Basic/)
  assert.match(String(wrong.meta.headers['www-authenticate']), /ApiKey/)
  const bogusKey = Buffer.from(`${MISSING_ID}:not-a-secret`).toString('base64')
  const unknown = await refused(connect({ apiKey: bogusKey }).security.authenticate(), 401, 'security_exception')
  assert.equal(unknown.body.error.additional_unsuccessful_credentials,
    `API key: unable to find apikey with id ${MISSING_ID}`)
  const anonymous = await refused(connect().security.authenticate(), 401, 'security_exception')
  assert.equal(anonymous.body.error.reason, 'missing authentication credentials for REST request')
})

test('a missing privilege is a 403', async () => {
  const { client } = await userWith([], 'js-powerless')
  const error = await refused(client.security.putRole({ name: 'js-nope', cluster: ['monitor'] }), 403,
    'security_exception')
  assert.match(error.body.error.reason, /^action \[cluster:admin\/xpack\/security\/role\/put\] is unauthorized/)
  assert.ok(error instanceof errors.ResponseError)
})
