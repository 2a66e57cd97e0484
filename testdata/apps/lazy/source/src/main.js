export const VERSION = 'v1';
document.getElementById('version').textContent = `app ${VERSION}`;
document.getElementById('where').textContent = `at ${location.pathname}`;
document.getElementById('more').addEventListener('click', async () => {
  const out = document.getElementById('lazy');
  try {
    const { more } = await import('./more.js');
    out.textContent = more();
  } catch (e) {
    out.textContent = `failed: ${e.message}`;
  }
});
