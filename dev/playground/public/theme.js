// @ts-check
// Applies the saved colour theme before the page paints (no flash of the wrong theme).
try {
  const choice = localStorage.getItem('playground-theme');
  if (choice === 'light' || choice === 'dark') document.documentElement.dataset.theme = choice;
} catch {
  // Storage may be unavailable (private mode): the system preference applies.
}
