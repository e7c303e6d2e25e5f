// Shown instead of any data when the node answers 401: the API needs an OAuth2 bearer token.
import { html, useState } from '../lib/html.js'
import { ErrorNote, PageTitle } from '../components/common.js'

export function SignIn ({ onToken, error }) {
  const [value, setValue] = useState('')
  const submit = (event) => {
    event.preventDefault()
    const token = value.trim().replace(/^Bearer\s+/i, '')
    setValue('')
    onToken(token)
  }
  return html`<section class="signin">
    <${PageTitle} title="Sign in" />
    <p>This node's API needs an OAuth2 access token (a JWT from the node's OIDC issuer). Paste one to continue.</p>
    <${ErrorNote} error=${error} what="The token was refused" />
    <form onSubmit=${submit}>
      <div class="field">
        <label for="token">Access token</label>
        <p class="hint" id="token-hint">Kept in this tab's memory only: reloading or closing the tab forgets it.</p>
        <input id="token" name="token" type="password" required autocomplete="off" spellcheck="false" aria-describedby="token-hint"
          value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      </div>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </section>`
}
