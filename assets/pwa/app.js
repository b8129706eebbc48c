// Tracking page (办件进度查询): no framework; ES2015 so old in-app browsers run it.
// The last status seen is kept in localStorage per code, so the page (served offline by
// the service worker) can show it with the time it was fetched.
(function () {
  'use strict';
  var T = {
    zh: {title: '办件进度查询', codeLabel: '请输入回执上的查询码', next: '下一步', codeIs: '查询码',
      last4Label: '请输入身份证号最后4位', last4Hint: '最后一位可能是字母 X', look: '查询',
      deadline: '办结期限', timing: '是否按时', steps: '办理过程', refresh: '刷新', forget: '清除本机记录',
      deliverAsk: '请确认您已收到办理结果（证件或文书）。', confirm: '确认收到',
      rateAsk: '请对本次服务评价', comment: '意见或建议（可不填）', send: '提交评价',
      thanks: '您已评价，感谢您的支持！', help: '如有疑问，请联系村代办员或乡镇便民服务中心。',
      applicant: '申请人', none: '尚未确定', fetched: '更新时间', offline: '当前没有网络，显示的是 {t} 查到的状态。',
      net: '网络不可用，请稍后再试。', wrong: '查询码或身份证号后四位不正确，请核对回执后重试。',
      busy: '尝试次数过多，请稍后再试。', need4: '请输入身份证号最后4位（数字或 X）。',
      delivered: '已确认收到，谢谢！', pick: '请选择 1 到 5 分。', saved: '本机查过的办件',
      todoHead: '您需要做的', reasonIs: '原因：', needHead: '还需要补充的材料',
      stars: ['非常不满意', '不满意', '一般', '满意', '非常满意'], lang: 'English'},
    en: {title: 'Case progress', codeLabel: 'Tracking code from your receipt', next: 'Next', codeIs: 'Code',
      last4Label: 'Last 4 characters of your ID number', last4Hint: 'The last one may be the letter X', look: 'Check',
      deadline: 'Due by', timing: 'On time?', steps: 'Progress', refresh: 'Refresh', forget: 'Forget on this phone',
      deliverAsk: 'Please confirm that you have received the result (certificate or letter).',
      confirm: 'Confirm receipt', rateAsk: 'Please rate our service', comment: 'Comments (optional)',
      send: 'Send rating', thanks: 'Thank you for your rating!',
      help: 'Questions? Ask your village agent or the township service centre.',
      applicant: 'Applicant', none: 'Not set yet', fetched: 'Updated', offline: 'No network: this is the status from {t}.',
      net: 'No network. Please try again later.',
      wrong: 'The tracking code or the last 4 characters of the ID number are wrong; check the receipt.',
      busy: 'Too many tries. Please wait and try again.', need4: 'Enter the last 4 characters of the ID number.',
      delivered: 'Receipt confirmed, thank you!', pick: 'Please choose 1 to 5.', saved: 'Cases checked on this phone',
      todoHead: 'What you need to do', reasonIs: 'Reason:', needHead: 'Documents still needed',
      stars: ['Very poor', 'Poor', 'Fair', 'Good', 'Very good'], lang: '中文'}
  };
  var $ = function (id) { return document.getElementById(id); };
  var store = {
    get: function (k) { try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* private mode */ } },
    del: function (k) { try { localStorage.removeItem(k); } catch (e) { /* private mode */ } }
  };
  var lang = store.get('ot.lang') === 'en' ? 'en' : 'zh';
  // Canonical tracking code: upper case, hyphens every 4 characters (K7QM-9XRT-2HNC).
  function norm(c) {
    c = (c || '').toUpperCase().replace(/[^0-9A-Z]/g, '');
    return c.length === 12 ? c.match(/.{4}/g).join('-') : c;
  }
  var code = norm(decodeURIComponent(location.pathname.split('/')[2] || ''));
  var token = new URLSearchParams(location.search).get('d');
  var key = 'ot.case.' + code;
  var view = null;  // {s: summary, at: ISO fetched, d: last4, off: shown from storage while offline}
  var t = function (k) { return T[lang][k]; };

  function show(id, on) { $(id).hidden = !on; }
  function say(text) { $('msg').textContent = text || ''; show('msg', !!text); }
  // An error of one form, shown right under what caused it (not in the page's top line, out
  // of sight on a small phone): role=alert reads it out, the field's aria-describedby points at
  // it, the field is marked invalid and gets the focus.
  var ERRS = ['digitsErr', 'rateErr', 'deliverErr'];
  function clearErrs() {
    ERRS.forEach(function (id) { $(id).textContent = ''; show(id, false); });
    var bad = document.querySelectorAll('[aria-invalid]');
    for (var i = 0; i < bad.length; i++) bad[i].removeAttribute('aria-invalid');
  }
  function sayAt(id, text, field, invalid) {
    say('');
    var box = $(id);
    box.textContent = text; show(id, true);
    if (invalid) invalid.setAttribute('aria-invalid', 'true');
    if (box.scrollIntoView) box.scrollIntoView({block: 'center'});
    if (field && field.focus) field.focus({preventScroll: true});
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso || '';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }

  function post(url, body) {
    return fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
      credentials: 'omit', cache: 'no-store'})
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { return {ok: r.ok, status: r.status, body: j}; }); });
  }
  function problem(r) {
    var e = r.body && r.body.error;
    if (r.status === 404) return t('wrong');
    var reason = (r.body && r.body.reason) || '';
    var two = /^(.*?[。！？])\s+([A-Za-z].*)$/.exec(reason);  // reasons are "中文。 English": the reader's half
    if (two) reason = two[lang === 'zh' ? 1 : 2];
    if (r.status === 429) return reason || t('busy');  // says how long to wait
    return reason || e || t('net');
  }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    var nodes = document.querySelectorAll('[data-t]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-t'));
    $('lang').textContent = t('lang');
    $('lang').lang = lang === 'zh' ? 'en' : 'zh';
    stars();
    if (view) render();
  }

  function stars() {
    var box = $('stars'), checked = box.querySelector('input:checked');
    var keep = checked ? checked.value : '';
    box.textContent = '';
    for (var i = 5; i >= 1; i--) {
      var input = el('input'); input.type = 'radio'; input.name = 'score'; input.id = 's' + i; input.value = i;
      if (String(i) === keep) input.checked = true;
      var label = el('label'); label.htmlFor = 's' + i;
      label.appendChild(el('b', '★★★★★'.slice(0, i))); label.appendChild(document.createTextNode(t('stars')[i - 1]));
      box.appendChild(input); box.appendChild(label);
    }
  }

  function render() {
    var s = view.s;
    show('digits', false); show('codeform', false); show('result', true);
    $('item').textContent = s.item[lang];
    $('who').textContent = t('codeIs') + ' ' + s.code;
    $('who2').textContent = s.applicant ? t('applicant') + ' ' + s.applicant : '';
    var st = $('status');
    st.textContent = s.status[lang];
    st.className = 'status' + ({delivered: ' done', result_ready: ' done', rejected: ' stop', withdrawn: ' stop'}[s.status.code] || '');
    renderTodo(s);
    $('deadline').textContent = s.deadline || (s.timing.code === 'closed' ? '—' : t('none'));
    var tv = $('timingv');
    tv.textContent = s.timing[lang];
    tv.className = /overdue|late/.test(s.timing.code) ? 'late' : (/on_time/.test(s.timing.code) ? 'ok' : '');
    var ol = $('timeline');
    ol.textContent = '';
    s.timeline.slice().reverse().forEach(function (step) {
      var li = el('li');
      li.appendChild(el('b', step[lang]));
      li.appendChild(el('small', when(step.at)));
      li.appendChild(el('small', step.office[lang]));
      ol.appendChild(li);
    });
    var off = $('offline');
    off.textContent = view.off ? t('offline').replace('{t}', when(view.at)) : t('fetched') + ' ' + when(view.at);
    off.className = view.off ? 'note' : 'hint';
    show('offline', !!view.at);
    show('deliver', !!view.confirm);
    show('rate', !!s.can_rate && !view.off);
    show('rate4', !view.d);
    show('thanks', !!s.rated);
  }

  // What the citizen must do now: the missing materials all at once (一次性告知), or why it was refused.
  function renderTodo(s) {
    var missing = s.missing || [], ul = $('missing');
    ul.textContent = '';
    missing.forEach(function (m) { ul.appendChild(el('li', m[lang])); });
    ul.setAttribute('aria-label', t('needHead'));
    $('reasonv').textContent = s.reason || '';
    show('reason', !!s.reason);
    $('todov').textContent = s.todo ? s.todo[lang] : '';
    show('todo', !!(s.todo || s.reason || missing.length));
    $('todo').className = 'box need' + (s.status.code === 'rejected' ? ' stop' : '');
  }

  function keep(summary, last4) {
    view = {s: summary, at: new Date().toISOString(), d: last4 || (view && view.d) || ''};
    if (view.d) store.set(key, view);  // never keep a status whose digits the reader did not enter
    var codes = store.get('ot.codes') || [];
    if (codes.indexOf(code) < 0 && view.d) { codes.push(code); store.set('ot.codes', codes.slice(-10)); }
  }

  function track(last4) {
    say(''); clearErrs();
    return post('/api/track', {code: code, id_last4: last4}).then(function (r) {
      if (r.ok) { keep(r.body, last4); render(); return; }
      if (r.status === 404) { store.del(key); view = null; show('result', false); show('digits', true); }
      if (!$('digits').hidden) sayAt('digitsErr', problem(r), $('last4'), $('last4')); else say(problem(r));
    }, function () {
      if (view) { view.off = true; render(); }
      else if (!$('digits').hidden) sayAt('digitsErr', t('net'), $('last4')); else say(t('net'));
    });
  }

  function deliveryCheck() {
    return post('/api/delivery/check', {code: code, token: token}).then(function (r) {
      if (!r.ok) { say(problem(r)); if (!view) show('digits', true); return; }
      keep(r.body.summary); view.confirm = r.body.can_confirm; render();
    }, function () { say(t('net')); if (view) { view.off = true; render(); } });
  }

  function confirm() {
    $('confirm').disabled = true; clearErrs();
    post('/api/delivery/confirm', {code: code, token: token}).then(function (r) {
      $('confirm').disabled = false;
      if (!r.ok) { sayAt('deliverErr', problem(r), $('confirm')); return; }
      keep(r.body); view.confirm = false; render(); say(''); $('offline').textContent = t('delivered');
      history.replaceState(null, '', location.pathname);  // the token is spent: keep it out of history
      token = null;
    }, function () { $('confirm').disabled = false; sayAt('deliverErr', t('net'), $('confirm')); });
  }

  function rate(ev) {
    ev.preventDefault();
    clearErrs();
    var picked = document.querySelector('input[name=score]:checked');
    var fieldset = $('rate').querySelector('fieldset');
    if (!picked) { sayAt('rateErr', t('pick'), $('stars').querySelector('input'), fieldset); return; }
    var last4 = (view.d || $('rlast4').value).trim().toUpperCase();
    if (!view.d && !/^[0-9]{3}[0-9X]$/.test(last4)) { sayAt('rateErr', t('need4'), $('rlast4'), $('rlast4')); return; }
    post('/api/track/' + encodeURIComponent(code) + '/rating',
      {id_last4: last4, score: Number(picked.value), comment: $('comment').value}).then(function (r) {
      if (!r.ok) {
        sayAt('rateErr', problem(r), view.d ? picked : $('rlast4'), r.status === 404 && !view.d ? $('rlast4') : null);
        return;
      }
      say(''); keep(r.body, last4); render();
    }, function () { sayAt('rateErr', t('net'), picked); });
  }

  function start() {
    applyLang();
    $('lang').onclick = function () { lang = lang === 'zh' ? 'en' : 'zh'; store.set('ot.lang', lang); applyLang(); };
    $('digits').onsubmit = function (ev) {
      ev.preventDefault();
      var v = $('last4').value.trim().toUpperCase();
      clearErrs();
      if (!/^[0-9]{3}[0-9X]$/.test(v)) { sayAt('digitsErr', t('need4'), $('last4'), $('last4')); return; }
      track(v);
    };
    $('codeform').onsubmit = function (ev) {
      ev.preventDefault();
      var c = norm($('code').value);
      if (c) location.href = '/t/' + encodeURIComponent(c);
    };
    $('confirm').onclick = confirm;
    $('rate').onsubmit = rate;
    $('refresh').onclick = function () {
      if (token) deliveryCheck(); else if (view && view.d) track(view.d); else { show('result', false); show('digits', true); }
    };
    $('forget').onclick = function () { store.del(key); location.href = '/t/'; };
    window.addEventListener('online', function () { if (view && view.off) $('refresh').onclick(); });
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/t/sw.js', {scope: '/t/'}).catch(function () {});
    if (!code) {
      (store.get('ot.codes') || []).forEach(function (c) {
        var a = el('a', c); a.href = '/t/' + encodeURIComponent(c);
        var li = el('li'); li.appendChild(a); $('saved').appendChild(li);
      });
      show('codeform', true);
      return;
    }
    $('codeshow').textContent = code;
    var saved = store.get(key);
    if (saved && saved.s) { view = saved; view.off = false; render(); }
    if (token) deliveryCheck();
    else if (saved && saved.d) track(saved.d);
    else show('digits', true);
  }
  start();
})();
