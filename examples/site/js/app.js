// Shows whether the shop is open, from the visitor's clock.
document.addEventListener("DOMContentLoaded", () => {
  const h = new Date().getHours();
  const open = h >= 7 && h < 18;
  document.getElementById("hours").textContent = open ? "Open now, until 6 pm." : "Closed now; we open at 7 am.";
});
