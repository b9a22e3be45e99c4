// The same flows with JavaScript off (project `no-js`, which runs only `*.nojs.spec.ts` files): the forms are
// plain HTML forms that POST and are answered with redirects.

import {
  PASSWORD,
  expect,
  expectAccountHome,
  expectLoginWithNext,
  expectPath,
  signIn,
  signOut,
  signUp,
  test,
  uniqueEmail,
} from './helpers';

// The project already turns JavaScript off; repeated here so the file means the same under any project.
test.use({ javaScriptEnabled: false });

test('without JavaScript: sign-up lands on the account home', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await expectAccountHome(page, email);
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
});

test('without JavaScript: sign-in with the right password lands on the account home', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signOut(page);
  await signIn(page, email, PASSWORD, { remember: true });
  await expectAccountHome(page, email);
});

test('without JavaScript: sign-in returns to the page that asked for it', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signOut(page);
  await page.goto('/');
  await expectLoginWithNext(page, '/');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expectAccountHome(page, email);
});

test('without JavaScript: a wrong password shows the generic message', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signOut(page);
  await signIn(page, email, 'wrong-harbor-lantern-1972');
  await expect(page.getByText('Email or password is incorrect.')).toBeVisible();
  await expectPath(page, '/login');
});

test('without JavaScript: sign-out ends on sign-in and / then asks to sign in again', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await signOut(page);
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await page.goto('/');
  await expectLoginWithNext(page, '/');
});
